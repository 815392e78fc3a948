#!/usr/bin/env node
import { main } from '../../common/src/service.js';
import { kitchenService } from './service.js';

main(kitchenService);
