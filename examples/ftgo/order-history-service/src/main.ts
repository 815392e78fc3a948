#!/usr/bin/env node
import { main } from '../../common/src/service.js';
import { orderHistoryService } from './service.js';

main(orderHistoryService);
