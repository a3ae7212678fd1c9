import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { FicusError, Lifecycle, requestIdOf, writeProblem, type Logger, type Tokens } from '../../platform/src/index.js';
import { decide } from './decide.js';
import type { FlagSource } from './flags/flag-source.js';
import { createRouterMetrics, type RouteCount, type RouterMetrics } from './metrics.js';
import { normalizeTarget } from './normalize-path.js';
import { forward, type Exchange } from './proxy/forward.js';
import { traceparentOf, upstreamRequestHeaders } from './proxy/headers.js';
import { forwardUpgrade } from './proxy/websocket.js';
import { matchRoute, type RouteTable } from './route-table/load.js';
import type { ServedEvent, ServedListener } from './served-event.js';
import { RouterState } from './state.js';
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
  /** Verifies bearer JWTs for the canary user id. */
  tokens?: Tokens;
  userIdHeader?: string;
  sessionCookie?: string;
  /** Add x-ficus-route and x-ficus-upstream to responses (default true). */
  exposeHeaders?: boolean;
  maxPathLength?: number;
}

export interface RouterOptions extends RoutingOptions {
  /** Bodies up to this size are buffered so a failing service's request can be replayed (default 64 KiB). */
  replayBodyLimit?: number;
}

export interface FicusRouter {
  server: Server;
  lifecycle: Lifecycle;
  state: RouterState;
  flags: FlagSource;
  metrics: RouterMetrics;
  /** Per-route counts for the admin API, from the metrics. */
  counters: { get(routeId: string): RouteCount };
  /** Called after every response; the seam for shadow traffic and custom telemetry. */
  onServed(listener: ServedListener): void;
  /** Closes every WebSocket tunnel (shutdown does, after draining requests). */
  closeTunnels(): void;
  close(): void;
}

const breakerValue = { closed: 0, open: 1, 'half-open': 2, isolated: 3 } as const;

/**
 * The standalone router: wires path normalization, the route table, flag decisions and the
 * proxy together on a node:http server. Each of those lives in its own file.
 */
export function createRouter(options: RouterOptions): FicusRouter {
  const { flags, logger } = options;
  const listeners: ServedListener[] = [];
  let state: RouterState;
  const metrics = createRouterMetrics({
    breakerStates: () => [...state.upstreams].map(([name, u]) => [name, breakerValue[u.breakerState]]),
    inFlight: () => [...state.upstreams].map(([name, u]) => [name, u.inFlight]),
    flagSourceAgeSeconds: () => {
      const status = flags.status();
      // A watched file is applied on every change: its flags are current unless the last read failed.
      if (status.kind === 'file' && status.ready && !status.lastError) return 0;
      return status.lastSyncAt === undefined ? undefined : (Date.now() - status.lastSyncAt) / 1000;
    },
  });
  state = new RouterState(options.table, { ...(options.routesFile ? { file: options.routesFile } : {}), env: options.env ?? {}, logger, onReloadFailed: metrics.reloadFailed });
  if (options.routesFile) state.watch();
  listeners.push(metrics.record);
  const emit = (event: ServedEvent) => {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        logger.error({ err: error }, 'a served-event listener failed');
      }
    }
  };
  const contextOf = createUserContext({ tokens: options.tokens, userIdHeader: options.userIdHeader, sessionCookie: options.sessionCookie ?? 'sid' });
  const maxPathLength = options.maxPathLength ?? 2048;
  const forwardOptions = {
    exposeHeaders: options.exposeHeaders ?? true,
    replayBodyLimit: options.replayBodyLimit ?? 64 * 1024,
    onRetry: metrics.retried,
    onServed: emit,
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    const requestId = requestIdOf(req.headers['x-request-id']);
    const target = normalizeTarget(req.url ?? '/', maxPathLength);
    if (!target.ok) {
      const code = target.status === 414 ? 'FICUS_ERR_URI_TOO_LONG' : 'FICUS_ERR_PATH_REJECTED';
      writeProblem(res, new FicusError(code, `${target.reason}; the router forwards only normalized paths`, { status: target.status }), { requestId });
      emit({ requestId, method: req.method ?? '', path: (req.url ?? '').slice(0, 256), routeId: 'rejected', stage: 'monolith', upstream: 'router', status: target.status, durationMs: performance.now() - started });
      return;
    }
    const exchange: Exchange = { req, res, target: target.path + target.search, requestId, traceparent: traceparentOf(req.headers['traceparent'], requestId), started };
    const route = matchRoute(state.table, req.method ?? 'GET', target.segments, req.headers);
    const decision = decide(state, flags, route, req, contextOf);
    if (decision instanceof Promise) void decision.then((d) => forward(exchange, d, forwardOptions));
    else forward(exchange, decision, forwardOptions);
  };

  const lifecycle = new Lifecycle();
  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => lifecycle.middleware(req, res, () => handle(req, res)));

  // Upgraded connections are not requests: neither the drain nor closeAllConnections() sees
  // them, so shutdown closes them itself.
  const tunnels = new Set<Duplex>();
  const trackTunnel = (socket: Duplex) => {
    tunnels.add(socket);
    socket.once('close', () => tunnels.delete(socket));
  };
  const closeTunnels = () => {
    for (const socket of tunnels) socket.destroy();
  };

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const target = normalizeTarget(req.url ?? '/', maxPathLength);
    if (!target.ok || lifecycle.draining) {
      socket.end(`HTTP/1.1 ${target.ok ? 503 : target.status} ${target.ok ? 'Service Unavailable' : 'Bad Request'}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      return;
    }
    const requestId = requestIdOf(req.headers['x-request-id']);
    // Host is set per upstream by forwardUpgrade.
    const headers = upstreamRequestHeaders(req.headers, '', {
      requestId,
      traceparent: traceparentOf(req.headers['traceparent'], requestId),
      clientAddress: req.socket.remoteAddress ?? '',
      proto: 'encrypted' in req.socket && req.socket.encrypted ? 'https' : 'http',
      host: req.headers.host,
    });
    const route = matchRoute(state.table, req.method ?? 'GET', target.segments, req.headers);
    void Promise.resolve(decide(state, flags, route, req, contextOf)).then(async (decision) => {
      const path = target.path + target.search;
      if (await forwardUpgrade(decision.primary, req, socket, head, path, headers, trackTunnel)) return;
      if (decision.fallback && (await forwardUpgrade(decision.fallback, req, socket, head, path, headers, trackTunnel))) return;
      socket.end('HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    });
  });

  return {
    server,
    lifecycle,
    state,
    flags,
    metrics,
    counters: { get: metrics.routeCount },
    onServed: (listener) => listeners.push(listener),
    closeTunnels,
    close: () => {
      closeTunnels();
      state.close();
      flags.stop();
    },
  };
}
