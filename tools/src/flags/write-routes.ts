import { apiFlagOf, FicusError, type Stage } from '../../../platform/src/index.js';
import type { CompiledRoute } from '../../../router/src/route-table/load.js';
import { discoverServices } from '../services/manifest.js';
import type { FlagStore } from './flag-store.js';

const reads = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Whether a route takes writes: it matches a method other than GET, HEAD and OPTIONS (or every method). */
export function takesWrites(route: Pick<CompiledRoute, 'methods'>): boolean {
  return !route.methods || [...route.methods].some((method) => !reads.has(method));
}

/**
 * A route that takes writes for the data of a module (its service was extracted from one) moves
 * with the data, never by its flag alone: served by the service before `ficus data cutover`, its
 * writes would land in the service's replica, apart from the monolith's (which replication then
 * overwrites or stops on); sent back to the monolith after it, they would meet a frozen copy.
 * Which side owns the data is the module's API flag (`ficus.<module>-api`), which only the
 * cutover and the revert turn. Shadowing the writes is fine while the monolith owns them (the
 * service answers them in a transaction it rolls back). No --force: this loses writes, not parity.
 */
export async function refuseWriteMove(
  route: CompiledRoute,
  stage: Stage,
  options: { store: FlagStore; root: string },
): Promise<void> {
  // Only a route of writes asks which module's data it serves: a rollback of reads reads no manifest.
  if (!takesWrites(route)) return;
  const module = discoverServices(options.root).find((s) => s.name === route.service)?.module;
  if (!module) return;
  const onService = (await options.store.get(apiFlagOf(module)))?.enabled === true;
  if (onService ? stage === 'service' : stage === 'monolith' || stage === 'shadow') return;
  const takes = route.methods
    ? `route ${route.id} takes writes (${[...route.methods].filter((m) => !reads.has(m)).join(', ')}) to ${module}'s data`
    : `route ${route.id} matches every method, so it takes writes to ${module}'s data (give a route of reads ` +
      '`methods: [GET]` to move it on its own)';
  throw new FicusError(
    'FICUS_ERR_WRITES_MOVE_WITH_DATA',
    onService
      ? `cannot set ${route.id} to ${stage}: ${takes}, which the service ${route.service} owns since ` +
          `ficus data cutover ${module} (${apiFlagOf(module)} is on); the monolith's copy is frozen and would ` +
          `refuse them. ficus data revert ${module} moves the writes back with the data, in one command`
      : `cannot set ${route.id} to ${stage}: ${takes}, which the monolith owns; served by ${route.service}, they ` +
          `would be written to its replica only, apart from the monolith's. ficus data cutover ${module} moves ` +
          'the writes with the data (freeze, catch up, switch the routes and the API together); ' +
          '--stage shadow compares them first without writing',
  );
}
