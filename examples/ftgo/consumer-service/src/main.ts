#!/usr/bin/env node
import { main } from '../../common/src/service.js';
import { consumerService } from './service.js';

main(consumerService);
