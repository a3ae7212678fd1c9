import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { BrokenCircuitError } from 'cockatiel';
import { FicusError, requestIdOf, writeProblem, type Logger, type Tokens } from '../../platform/src/index.js';
import { decide, type Decision } from './decide.js';
import type { FlagSource } from '../../platform/src/flags/flag-source.js';
import { createRouterMetrics, type RouterMetrics } from './metrics.js';
import { normalizeTarget } from './normalize-path.js';
import {
  defaultClientDeadlines,
  readSmallBody,
  timedOut,
  watchBodyIdle,
  type ClientDeadline,
  type ClientDeadlines,
} from './proxy/client-deadlines.js';
import { forward, type Exchange, type ForwardOptions } from './proxy/forward.js';
import { traceparentOf, upstreamRequestHeaders, type HeaderList } from './proxy/headers.js';
import { UpstreamError, type Transport } from './proxy/send.js';
import { failureResponse, type UpstreamFailure } from './proxy/status-code.js';
import type { Upstream } from './proxy/upstream.js';
import { answerUpgrade, forwardUpgrade, type UpgradeOutcome } from './proxy/websocket.js';
import { matchRoute, type RouteTable } from './route-table/load.js';
import type { ServedEvent, ServedListener } from './served-event.js';
import { createShadow, type Shadow, type ShadowOptions } from './shadow/shadow.js';
import { RouterState } from './state.js';
import { addressMatcher } from './trusted-addresses.js';
import { createUserContext } from './user-context.js';

/** What both forms of the router (standalone and express middleware) are configured with. */
export interface RoutingOptions {
  table: RouteTable;
  /** Watched and reloaded on change when given; a bad edit keeps the last good table. */
  routesFile?: string;
  /** For `${VAR}` in the route table on reload. */
  env?: Record<string, string | undefined>;
  flags: FlagSource;
  logger: Logger;
  /** Verifies bearer JWTs for the canary user id; a verified token wins over the user-id header. */
  tokens?: Tokens;
  /** A header carrying the user id, believed only from `trustedProxies` and removed from everyone else's requests. */
  userIdHeader?: string;
  /**
   * Peers whose user-id header is believed: IPs, CIDR ranges, `loopback`, `private`
   * (default `['loopback']`, a gateway on the same host).
   * @example ['loopback', '10.20.0.0/16']
   */
  trustedProxies?: readonly string[];
  sessionCookie?: string;
  /** Add x-ficus-route, x-ficus-upstream and x-ficus-fallback to responses (default true). */
  exposeHeaders?: boolean;
  maxPathLength?: number;
  /** Bodies up to this size are read in full before an upstream slot is taken, and can be sent again (default 64 KiB). */
  replayBodyLimit?: number;
  /** How long the router waits on clients; see ClientDeadlines. */
  clientDeadlines?: Partial<ClientDeadlines>;
  /**
   * Shadow traffic (routes at stage shadow, or sampling at canary or service): where parity
   * goes, the signing secret for dry-run writes, bounds. Defaults: memory store, 1 MiB copies.
   * @example { store: new PgParityStore(process.env.PARITY_DATABASE_URL), secret: process.env.SHADOW_SECRET }
   */
  shadow?: ShadowOptions;
}

export interface RoutingCore {
  state: RouterState;
  flags: FlagSource;
  metrics: RouterMetrics;
  deadlines: Readonly<ClientDeadlines>;
  /** Routes one request; `url` is the whole original target (express's `originalUrl`). */
  handle(req: IncomingMessage, res: ServerResponse, url?: string): void;
  /** Routes an HTTP/1.1 Upgrade (WebSocket) by the same table, limits and breakers. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Shadow traffic: the mirror and the parity it records. */
  shadow: Shadow;
  /** Called after every response; the seam for custom telemetry. */
  onServed(listener: ServedListener): void;
  /** Counts a client deadline that ran out outside the core (node's header and request timeouts). */
  clientTimedOut(deadline: ClientDeadline): void;
  closeTunnels(): void;
  close(): void;
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * The one routing pipeline of both router forms: path normalization (and the 400/414 choice),
 * route match, flag decision, client deadlines, bulkheads, breakers, retries, the fallback
 * rule, the response, tunnels and served events. A form supplies only its transport (undici,
 * or http-proxy-middleware) and its server.
 */
export function createRoutingCore(
  options: RoutingOptions & { transport: Transport; draining?: () => boolean },
): RoutingCore {
  const { flags, logger } = options;
  const listeners: ServedListener[] = [];
  const deadlines: Readonly<ClientDeadlines> = Object.freeze({ ...defaultClientDeadlines, ...options.clientDeadlines });
  let state: RouterState;
  const metrics = createRouterMetrics({
    upstreams: () => state.upstreams.values(),
    flagSourceAgeSeconds: () => flags.ageSeconds(),
  });
  state = new RouterState(options.table, {
    ...(options.routesFile ? { file: options.routesFile } : {}),
    env: options.env ?? {},
    logger,
    onReloadFailed: metrics.reloadFailed,
  });
  if (options.routesFile) state.watch();
  listeners.push(metrics.record);
  flags.onProblem(() => {
    metrics.flagSourceFailed(flags.location);
    if (flags.kind === 'file') metrics.reloadFailed(flags.location);
  });
  const emit = (event: ServedEvent) => {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        logger.error({ err: error }, 'a served-event listener failed');
      }
    }
  };
  const contextOf = createUserContext({
    tokens: options.tokens,
    userIdHeader: options.userIdHeader,
    sessionCookie: options.sessionCookie ?? 'sid',
  });
  const userIdHeader = options.userIdHeader?.toLowerCase();
  const trusted = addressMatcher(options.trustedProxies ?? ['loopback']);
  // A connection's peer does not change: decided once per connection, not per keep-alive request.
  const trustedSockets = new WeakMap<object, boolean>();
  const trustedPeer = (socket: IncomingMessage['socket']) => {
    let known = trustedSockets.get(socket);
    if (known === undefined) trustedSockets.set(socket, (known = trusted(socket.remoteAddress)));
    return known;
  };
  const maxPathLength = options.maxPathLength ?? 2048;
  const replayBodyLimit = options.replayBodyLimit ?? 64 * 1024;
  const shadow = createShadow(options.shadow ?? {}, { state, logger, registry: metrics.registry });
  const forwardOptions: ForwardOptions = {
    shadow: shadow.mirror,
    transport: options.transport,
    exposeHeaders: options.exposeHeaders ?? true,
    sendTimeoutMs: deadlines.sendMs,
    onRetry: metrics.retried,
    onClientTimeout: metrics.clientTimedOut,
    onServed: emit,
  };

  /** Normalizes; a path that cannot be normalized safely is answered here, never forwarded. */
  const targetOf = (req: IncomingMessage, url: string, started: number, requestId: string) => {
    // A user id is believed only from a trusted gateway; nobody else's reaches an upstream either,
    // under any spelling an upstream could read as the same (x_user_id is HTTP_X_USER_ID to CGI-style servers).
    if (userIdHeader && !trustedPeer(req.socket)) {
      for (const name in req.headers) if (name.replaceAll('_', '-') === userIdHeader) delete req.headers[name];
    }
    const target = normalizeTarget(url, maxPathLength);
    if (target.ok) return target;
    emit({
      requestId,
      method: req.method ?? '',
      path: url.slice(0, 256),
      routeId: 'rejected',
      stage: 'monolith',
      upstream: 'router',
      status: target.status,
      durationMs: performance.now() - started,
    });
    return target;
  };

  const answerOwn = (exchange: Exchange, error: FicusError, headers: Record<string, string> = {}) => {
    const { req, res, requestId, target, started } = exchange;
    if (res.headersSent || res.destroyed) res.destroy();
    else writeProblem(res, error, { instance: target, requestId }, headers);
    emit({
      requestId,
      method: req.method ?? '',
      path: target,
      routeId: 'default',
      stage: 'monolith',
      upstream: 'router',
      status: error.status,
      durationMs: performance.now() - started,
    });
  };

  const go = (exchange: Exchange, body: Buffer | IncomingMessage | null) => {
    const { req } = exchange;
    const route = matchRoute(state.table, req.method ?? 'GET', exchange.targetSegments, req.headers);
    const decision = decide(state, flags, route, req, contextOf);
    if (decision instanceof Promise) void decision.then((d) => forward(exchange, d, forwardOptions, body));
    else forward(exchange, decision, forwardOptions, body);
  };

  const handle = (req: IncomingMessage, res: ServerResponse, url = req.url ?? '/') => {
    const started = performance.now();
    const requestId = requestIdOf(req.headers['x-request-id']);
    const target = targetOf(req, url, started, requestId);
    if (!target.ok) {
      const code = target.status === 414 ? 'FICUS_ERR_URI_TOO_LONG' : 'FICUS_ERR_PATH_REJECTED';
      writeProblem(
        res,
        new FicusError(code, `${target.reason}; the router forwards only normalized paths`, { status: target.status }),
        { requestId },
      );
      return;
    }
    const exchange: Exchange = {
      req,
      res,
      target: target.path + target.search,
      targetSegments: target.segments,
      requestId,
      traceparent: traceparentOf(req.headers['traceparent'], requestId),
      started,
    };
    if (!hasBody(req)) return go(exchange, null);
    watchBodyIdle(req, res, deadlines.bodyIdleMs, () => metrics.clientTimedOut('body'));
    const consumed = req.readableEnded;
    readSmallBody(req, replayBodyLimit).then(
      (buffer) => go(exchange, buffer ?? req),
      (error: unknown) => {
        if (timedOut(req))
          return answerOwn(
            exchange,
            new FicusError(
              'FICUS_ERR_CLIENT_TIMEOUT',
              `the request body paused for more than ${deadlines.bodyIdleMs} ms; send it at once`,
            ),
            { connection: 'close' },
          );
        const detail = consumed
          ? 'the request body was read before the router saw it (mount ficusRouter before any body parser)'
          : `${(error as Error).message}; send the whole body`;
        answerOwn(
          exchange,
          new FicusError(consumed ? 'FICUS_ERR_INTERNAL' : 'FICUS_ERR_VALIDATION', detail, {
            status: consumed ? 500 : 400,
          }),
          { connection: 'close' },
        );
      },
    );
  };

  // Upgraded connections are not requests: neither the drain nor closeAllConnections() sees
  // them, so shutdown closes them itself.
  const tunnels = new Set<Duplex>();
  const closeTunnels = () => {
    for (const socket of tunnels) socket.destroy();
  };

  /** One try of an upgrade on `upstream`: its tunnel limit, and for a service its breaker. */
  const tryUpgrade = async (
    upstream: Upstream,
    guarded: boolean,
    attempt: (onTunnel: (socket: Duplex) => void) => Promise<UpgradeOutcome>,
  ): Promise<UpgradeOutcome> => {
    const refused = (failure: UpstreamFailure, message: string): UpgradeOutcome => ({
      statusCode: 503,
      answered: false,
      failure: new UpstreamError(failure, upstream.name, message),
    });
    if (guarded && upstream.probing) return refused('circuit-open', `the circuit of ${upstream.name} is half-open`);
    if (!upstream.tryOpenTunnel())
      return refused('saturated', `${upstream.name} has ${upstream.spec.maxTunnels} tunnels open`);
    let tunnelled = false;
    const onTunnel = (socket: Duplex) => {
      tunnelled = true;
      tunnels.add(socket);
      socket.once('close', () => {
        tunnels.delete(socket);
        upstream.closeTunnel();
      });
    };
    try {
      if (!guarded) return await attempt(onTunnel);
      // The breaker sees a handshake that got no answer, a 5xx or a mismatched 101 as a failure.
      return await upstream.breaker.execute(async () => {
        const outcome = await attempt(onTunnel);
        if (outcome.failure && !outcome.answered) throw outcome.failure;
        return outcome;
      });
    } catch (error) {
      if (error instanceof BrokenCircuitError)
        return refused('circuit-open', `the circuit of ${upstream.name} is open`);
      if (error instanceof UpstreamError) return { statusCode: 502, answered: false, failure: error };
      throw error;
    } finally {
      if (!tunnelled) upstream.closeTunnel();
    }
  };

  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const started = performance.now();
    const requestId = requestIdOf(req.headers['x-request-id']);
    const target = targetOf(req, req.url ?? '/', started, requestId);
    if (!target.ok)
      return answerUpgrade(
        socket,
        target.status,
        target.status === 414 ? 'URI Too Long' : 'Bad Request',
        target.reason,
      );
    const path = target.path + target.search;
    const route = matchRoute(state.table, req.method ?? 'GET', target.segments, req.headers);
    const event = (
      decision: Pick<Decision, 'routeId' | 'stage'>,
      upstream: string,
      status: number,
      fallback?: ServedEvent['fallback'],
    ) =>
      emit({
        requestId,
        method: req.method ?? 'GET',
        path,
        routeId: decision.routeId,
        stage: decision.stage,
        upstream,
        status,
        durationMs: performance.now() - started,
        ...(fallback ? { fallback } : {}),
      });
    if (options.draining?.()) {
      answerUpgrade(socket, 503, 'Service Unavailable', 'this instance is shutting down; retry on another instance');
      return event({ routeId: route?.id ?? 'default', stage: 'monolith' }, 'router', 503);
    }
    const protocol = String(req.headers.upgrade ?? '').toLowerCase();
    const allowed = route?.upgrades ?? ['websocket'];
    if (!allowed.some((p) => p.toLowerCase() === protocol)) {
      answerUpgrade(
        socket,
        400,
        'Bad Request',
        `upgrade to "${protocol}" is not allowed on route ${route?.id ?? 'default'}; allowed: ${allowed.join(', ')}`,
      );
      return event({ routeId: route?.id ?? 'default', stage: 'monolith' }, 'router', 400);
    }
    const socketInfo = req.socket as IncomingMessage['socket'] & { encrypted?: boolean };
    // Host is set per upstream by forwardUpgrade.
    const headers: HeaderList = upstreamRequestHeaders(req.headers, '', {
      requestId,
      traceparent: traceparentOf(req.headers['traceparent'], requestId),
      clientAddress: socketInfo.remoteAddress ?? '',
      proto: socketInfo.encrypted ? 'https' : 'http',
      host: req.headers.host,
    });
    void Promise.resolve(decide(state, flags, route, req, contextOf))
      .then(async (decision) => {
        const guarded = decision.route !== undefined && decision.primary.name === decision.route.service;
        const via = (upstream: Upstream, isService: boolean) =>
          tryUpgrade(upstream, isService, (onTunnel) =>
            forwardUpgrade(upstream, req, socket, head, path, headers, onTunnel),
          );
        let outcome = await via(decision.primary, guarded);
        let served = decision.primary.name;
        let fallback: ServedEvent['fallback'];
        if (!outcome.answered && decision.fallback && !socket.destroyed) {
          fallback = { from: decision.primary.name, reason: outcome.failure!.failure };
          served = decision.fallback.name;
          outcome = await via(decision.fallback, false);
        }
        if (!outcome.answered) {
          const { status } = failureResponse(outcome.failure!.failure);
          answerUpgrade(
            socket,
            status,
            status === 503 ? 'Service Unavailable' : status === 504 ? 'Gateway Timeout' : 'Bad Gateway',
            `${outcome.failure!.message}; try again later`,
          );
          return event(decision, 'router', status, fallback);
        }
        event(
          decision,
          outcome.statusCode === 502 && outcome.failure ? 'router' : served,
          outcome.statusCode,
          fallback,
        );
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, 'upgrade failed');
        socket.destroy();
      });
  };

  return {
    state,
    flags,
    metrics,
    deadlines,
    handle,
    upgrade,
    shadow,
    onServed: (listener) => listeners.push(listener),
    clientTimedOut: metrics.clientTimedOut,
    closeTunnels,
    close: () => {
      closeTunnels();
      state.close();
      void shadow.close().catch((error: unknown) => logger.warn({ err: error }, 'closing shadow traffic failed'));
    },
  };
}
