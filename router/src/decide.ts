import type { IncomingMessage } from 'node:http';
import type { FlagContext, FlagSource } from '../../platform/src/flags/flag-source.js';
import type { Stage } from '../../platform/src/flags/features.js';
import type { Upstream } from './proxy/upstream.js';
import type { CompiledRoute } from './route-table/load.js';
import type { RouterState } from './state.js';

/** The stage a request was decided at: a flag's, `custom`, or `retired` (from the route table, no flag). */
export type DecidedStage = Stage | 'custom' | 'retired';

/**
 * What a retired route reports wherever a stage is shown (admin `/routes`, `ficus flags
 * status`): all of it on the service, nothing compared.
 */
export const retiredStage = Object.freeze({ stage: 'retired', percent: 100, sample: 0 } as const);

/**
 * Where one request goes: the per-route decision the proxy carries out (and that shadow
 * traffic will read). `fallback` is the upstream that serves the request if `primary` fails.
 */
export interface Decision {
  route: CompiledRoute | undefined;
  routeId: string;
  stage: DecidedStage;
  primary: Upstream;
  fallback: Upstream | undefined;
  /** Share of this route's requests (0..100) mirrored to the other upstream and compared. */
  sample: number;
}

/**
 * Decides from the route and its serve toggle. Stages monolith and service need no context;
 * a canary (or a toggle with strategies ficus did not write) asks unleash-client with the
 * request's user context. A retired route's flag is not read at all: the monolith has nothing
 * left to serve or compare with, so neither a toggle left behind nor a flag source that is down
 * (which means "serve from the monolith") may send a request there. Returns synchronously
 * whenever it can: this is the hot path.
 */
export function decide(
  state: RouterState,
  flags: FlagSource,
  route: CompiledRoute | undefined,
  req: IncomingMessage,
  contextOf: (req: IncomingMessage) => FlagContext | Promise<FlagContext>,
): Decision | Promise<Decision> {
  const monolith = state.upstream(state.table.defaultUpstream);
  if (!route)
    return { route, routeId: 'default', stage: 'monolith', primary: monolith, fallback: undefined, sample: 0 };
  if (route.stage === 'retired') return routeTo(route, 'retired', state.upstream(route.service), undefined, 0);
  const { stage, sample = 0 } = flags.stage(route.flag);
  if (stage === 'monolith' || stage === 'shadow') return routeTo(route, stage, monolith, undefined, sample);
  const service = state.upstream(route.service);
  const fallback = route.fallback === 'monolith' ? monolith : undefined;
  if (stage === 'service') return routeTo(route, stage, service, fallback, sample);
  const context = contextOf(req);
  if (!(context instanceof Promise))
    return routeTo(route, stage, flags.isEnabled(route.flag, context) ? service : monolith, fallback, sample);
  return context.then(
    (resolved) => routeTo(route, stage, flags.isEnabled(route.flag, resolved) ? service : monolith, fallback, sample),
    () => routeTo(route, stage, monolith, undefined, sample),
  );
}

function routeTo(
  route: CompiledRoute,
  stage: Decision['stage'],
  primary: Upstream,
  fallback: Upstream | undefined,
  sample: number,
): Decision {
  // Only a service has a fallback: the monolith serving is the end of the line.
  const serviceFallback = primary.name === route.service ? fallback : undefined;
  return { route, routeId: route.id, stage, primary, fallback: serviceFallback, sample };
}
