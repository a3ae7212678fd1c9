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
import { takesWrites } from '../flags/write-routes.js';
import type { WriterSwitch } from './cutover.js';

type Env = Record<string, string | undefined>;

/**
 * The flags a change of writer flips: every route of the module's service that takes writes
 * (to stage service, or back to monolith), and the module's API flag, so the monolith's other
 * modules call the new writer too, in one change of the flag store (all or nothing), audited.
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
  /** Ask the new writer's /readyz, at its url in the route table, before the switch (default true). */
  readyCheck?: boolean;
}): WriterSwitch {
  const table = loadRouteTable(options.routesFile, options.env);
  const writes = table.routes.filter((r) => r.service === options.service && takesWrites(r));
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
  // The process that takes the writes: the service's upstream, or the monolith's (the default).
  const newWriter = table.upstreams.get(options.toService ? options.service : table.defaultUpstream);
  return {
    flipped: async () => {
      for (const feature of wanted) {
        const current = await options.store.get(feature.name);
        const same =
          feature.name === apiToggle.name
            ? (current?.enabled ?? false) === feature.enabled
            : stageOf(current).stage === stage;
        if (!same) return false;
      }
      return true;
    },
    ready: async () => {
      if (!newWriter || options.readyCheck === false) return;
      const url = new URL('/readyz', newWriter.url);
      const answer = await fetch(url, { signal: AbortSignal.timeout(2000) }).then(
        async (response) => {
          await response.body?.cancel();
          return response.ok ? undefined : `answered ${response.status}`;
        },
        (error: Error) => `did not answer (${(error.cause as { code?: string } | undefined)?.code ?? error.name})`,
      );
      if (answer)
        throw new FicusError(
          'FICUS_ERR_DATA_SETUP',
          `${options.toService ? options.service : 'the monolith'} at ${url.origin} is not ready: GET /readyz ${answer}; ` +
            'start it (or fix its url in the route table) before moving the writes to it',
        );
    },
    flip: async () => {
      // One write where the store allows it: a flip is all or nothing, even for a killed command.
      const previous = await options.store.putAll(wanted);
      for (const [i, feature] of wanted.entries()) await audit(feature.name, previous[i], feature);
    },
  };
}
