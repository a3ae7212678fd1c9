import { userInfo } from 'node:os';
import {
  apiFlagOf,
  FicusError,
  stageOf,
  stageToggles,
  type Feature,
  type RouteStage,
} from '../../../platform/src/index.js';
import { loadRouteTable } from '../../../router/src/route-table/load.js';
import { appendAudit, auditFileOf } from '../flags/audit.js';
import type { FlagStore } from '../flags/flag-store.js';
import { refuseRetired } from '../flags/retired.js';
import type { WriterSwitch } from './cutover.js';

type Env = Record<string, string | undefined>;

const reads = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The flags a change of writer flips: every route of the module's service that takes writes
 * (to stage service, or back to monolith), and the module's API flag, so the monolith's other
 * modules call the new writer too. What the flags were is kept, so `unflip` restores exactly that.
 */
export function flagSwitch(options: {
  store: FlagStore;
  routesFile: string;
  flagsFile: string;
  audit?: string | undefined;
  env: Env;
  module: string;
  service: string;
  /** True: the writes go to the service (cutover); false: back to the monolith (revert). */
  toService: boolean;
}): WriterSwitch {
  const table = loadRouteTable(options.routesFile, options.env);
  const writes = table.routes.filter(
    (r) => r.service === options.service && (!r.methods || [...r.methods].some((m) => !reads.has(m))),
  );
  if (writes.length === 0)
    throw new FicusError(
      'FICUS_ERR_CONFIG',
      `no route in ${options.routesFile} sends writes to ${options.service}: add its <module>-write route (ficus extract writes one)`,
    );
  const verb = options.toService ? 'cutover' : 'revert';
  // Before anything moves: once retired, there is no monolith writer to switch from or back to.
  for (const route of writes) refuseRetired(route, options.routesFile, `ficus data ${verb} ${options.module}`);
  const stage = options.toService ? 'service' : 'monolith';
  const apiToggle: Feature = {
    name: apiFlagOf(options.module),
    enabled: options.toService,
    type: 'operational',
    strategies: [{ name: 'default', parameters: {}, constraints: [] }],
  };
  const wanted = [...writes.map((route) => stageToggles(route, stage, stage === 'service' ? 100 : 0, 0)[0]), apiToggle];
  const before = new Map<string, Feature | undefined>();
  // The API flag's "stage" is which implementation the monolith calls: the service's or its own.
  const stageOfToggle = (feature: Feature | undefined, name: string): RouteStage =>
    name === apiToggle.name
      ? { stage: feature?.enabled ? 'service' : 'monolith', percent: undefined }
      : stageOf(feature);
  const audit = (name: string, from: Feature | undefined, to: Feature | undefined) =>
    appendAudit(auditFileOf(options.flagsFile, options.audit), {
      at: new Date().toISOString(),
      who: options.env['FICUS_ACTOR'] ?? options.env['USER'] ?? userInfo().username,
      route: writes.find((r) => r.flag === name)?.id ?? `${options.module} API`,
      flag: name,
      from: stageOfToggle(from, name),
      to: stageOfToggle(to, name),
      store: options.store.description,
      reason: `ficus data ${verb} ${options.module}`,
    });
  return {
    flip: async () => {
      for (const feature of wanted) {
        const previous = await options.store.put(feature);
        before.set(feature.name, previous);
        await audit(feature.name, previous, feature);
      }
    },
    unflip: async () => {
      for (const feature of [...wanted].reverse()) {
        if (!before.has(feature.name)) continue;
        const restored = before.get(feature.name) ?? { ...feature, enabled: !feature.enabled };
        await options.store.put(restored);
        await audit(feature.name, feature, restored);
      }
    },
  };
}
