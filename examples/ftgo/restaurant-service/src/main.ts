#!/usr/bin/env node
import { main } from '../../common/src/service.js';
import { restaurantService } from './service.js';

main(restaurantService);
