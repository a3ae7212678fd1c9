import type { IncomingMessage } from 'node:http';
import type { FlagContext, FlagSource } from './flags/flag-source.js';
import type { Stage } from './flags/features.js';
import type { Upstream } from './proxy/upstream.js';
import type { CompiledRoute } from './route-table/load.js';
import type { RouterState } from './state.js';

/**
 * Where one request goes: the per-route decision the proxy carries out (and that shadow
 * traffic will read). `fallback` is the upstream that serves the request if `primary` fails.
 */
export interface Decision {
  route: CompiledRoute | undefined;
  routeId: string;
  stage: Stage | 'custom';
  primary: Upstream;
  fallback: Upstream | undefined;
}

/**
 * Decides from the route and its serve toggle. Stages monolith and service need no context;
 * a canary (or a toggle with strategies ficus did not write) asks unleash-client with the
 * request's user context. Returns synchronously whenever it can: this is the hot path.
 */
export function decide(
  state: RouterState,
  flags: FlagSource,
  route: CompiledRoute | undefined,
  req: IncomingMessage,
  contextOf: (req: IncomingMessage) => FlagContext | Promise<FlagContext>,
): Decision | Promise<Decision> {
  const monolith = state.upstream(state.table.defaultUpstream);
  if (!route) return { route, routeId: 'default', stage: 'monolith', primary: monolith, fallback: undefined };
  const { stage } = flags.stage(route.flag);
  const service = state.upstream(route.service);
  const toService = (): Decision => ({ route, routeId: route.id, stage, primary: service, fallback: route.fallback === 'monolith' ? monolith : undefined });
  const toMonolith = (): Decision => ({ route, routeId: route.id, stage, primary: monolith, fallback: undefined });
  if (stage === 'monolith') return toMonolith();
  if (stage === 'service') return toService();
  const context = contextOf(req);
  if (!(context instanceof Promise)) return flags.isEnabled(route.flag, context) ? toService() : toMonolith();
  return context.then(
    (resolved) => (flags.isEnabled(route.flag, resolved) ? toService() : toMonolith()),
    () => toMonolith(),
  );
}
