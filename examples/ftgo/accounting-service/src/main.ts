#!/usr/bin/env node
import { main } from '../../common/src/service.js';
import { accountingService } from './service.js';

main(accountingService);
