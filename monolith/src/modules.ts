import type { ModuleDefinition } from '../../platform/src/index.js';
import { catalogModule } from './modules/catalog/index.js';
import { ordersModule } from './modules/orders/index.js';
import { paymentsModule } from './modules/payments/index.js';
import { usersModule } from './modules/users/index.js';

/**
 * Every module defined in monolith/src/modules, retired or not, in dependency order. A retired
 * module's code stays in the repository (its API is what the other modules call the service
 * by); this is the monolith as the starter ships it, which the repository's own tests compose.
 */
export const definedModules: readonly ModuleDefinition[] = [catalogModule, usersModule, paymentsModule, ordersModule];

/**
 * Every module the monolith composes, in dependency order (a module after those it depends on):
 * each is migrated, seeded, connected to as its own role and mounted. A retired module
 * (`"retired"` in its module.json, written by `ficus retire`) is not among them: its service owns
 * it, and the other modules reach it through its remote API.
 */
export const modules: readonly ModuleDefinition[] = definedModules.filter((m) => !m.manifest.retired);

/** The names of the retired modules. */
export const retiredModules: ReadonlySet<string> = new Set(
  definedModules.filter((m) => m.manifest.retired).map((m) => m.manifest.name),
);
