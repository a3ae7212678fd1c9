import { FicusError } from '../../../platform/src/index.js';
import type { CompiledRoute } from '../../../router/src/route-table/load.js';

/**
 * A retired route's flags are not a stage any more: the module is gone from the monolith, so
 * there is nothing to set it back to, and the router serves it from its service whatever its
 * flags say. Every command that would write its toggles refuses, naming the route table.
 */
export function refuseRetired(route: CompiledRoute, routesFile: string, attempt: string): void {
  if (route.stage !== 'retired') return;
  throw new FicusError(
    'FICUS_ERR_ROUTE_RETIRED',
    `${attempt}: route ${route.id} is retired in ${routesFile} (stage: retired), so its stage is not a flag any more; ` +
      `the monolith no longer has its module, there is nothing to set it back to, and the router sends every ` +
      `request of ${route.id} to ${route.service} whatever its flags say. If the module is back in the monolith, ` +
      `remove "stage: retired" from route ${route.id} in ${routesFile} first`,
  );
}
