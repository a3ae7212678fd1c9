import type { Migration } from '../../../../../platform/src/index.js';
import { createOrders } from './001-create-orders.js';
import { createCompensations } from './002-create-compensations.js';

/** In order; append, never reorder or edit one that has shipped. */
export const migrations: readonly Migration[] = [createOrders, createCompensations];
