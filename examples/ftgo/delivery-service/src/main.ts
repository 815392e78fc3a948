#!/usr/bin/env node
import { main } from '../../common/src/service.js';
import { deliveryService } from './service.js';

main(deliveryService);
