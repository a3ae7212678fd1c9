import type { ModuleDefinition } from '../../platform/src/index.js';
import { catalogModule } from './modules/catalog/index.js';
import { ordersModule } from './modules/orders/index.js';
import { paymentsModule } from './modules/payments/index.js';
import { usersModule } from './modules/users/index.js';

/** Every module of the monolith, in dependency order (a module after those it depends on). */
export const modules: readonly ModuleDefinition[] = [catalogModule, usersModule, paymentsModule, ordersModule];
