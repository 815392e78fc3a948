#!/usr/bin/env node
import { main } from '../../common/src/service.js';
import { orderService } from './service.js';

main(orderService);
