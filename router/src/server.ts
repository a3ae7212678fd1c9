import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { Lifecycle } from '../../platform/src/index.js';
import { createRoutingCore, type RoutingOptions } from './core.js';
import type { FlagSource } from '../../platform/src/flags/flag-source.js';
import type { RouteCount, RouterMetrics } from './metrics.js';
import { ClientTimeoutError } from './proxy/client-deadlines.js';
import { undiciTransport } from './proxy/undici-transport.js';
import type { ServedListener } from './served-event.js';
import type { Shadow } from './shadow/shadow.js';
import type { RouterState } from './state.js';

export type { RoutingOptions } from './core.js';

/** The standalone router's options: the routing options of both forms. */
export type RouterOptions = RoutingOptions;

export interface FicusRouter {
  server: Server;
  lifecycle: Lifecycle;
  state: RouterState;
  flags: FlagSource;
  metrics: RouterMetrics;
  /** Per-route counts for the admin API, from the metrics. */
  counters: { get(routeId: string): RouteCount };
  /** Shadow traffic: the mirror and the parity it records. */
  shadow: Shadow;
  /** Called after every response; the seam for custom telemetry. */
  onServed(listener: ServedListener): void;
  /** Closes every WebSocket tunnel (shutdown does, after draining requests). */
  closeTunnels(): void;
  close(): void;
}

/**
 * The standalone router: the routing core on a node:http server, sending through undici
 * pools. The server enforces the client header and whole-request deadlines itself.
 */
export function createRouter(options: RouterOptions): FicusRouter {
  const lifecycle = new Lifecycle();
  const core = createRoutingCore({ ...options, transport: undiciTransport, draining: () => lifecycle.draining });
  const { deadlines } = core;
  // Requests whose body is still arriving, by connection: a whole-request timeout ends them.
  const receiving = new WeakMap<Socket, IncomingMessage>();
  const server = createServer(
    {
      keepAliveTimeout: 65_000,
      headersTimeout: deadlines.headersMs,
      requestTimeout: deadlines.requestMs,
      // How often node checks those two deadlines (its default is every 30 s).
      connectionsCheckingInterval: Math.min(1000, deadlines.headersMs),
    },
    (req, res) =>
      lifecycle.middleware(req, res, () => {
        if (!req.complete) {
          receiving.set(req.socket, req);
          req.once('end', () => receiving.delete(req.socket));
        }
        core.handle(req, res);
      }),
  );
  server.on('upgrade', core.upgrade);
  // node's own answers to clients it cannot parse or that ran out of time, counted.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    const inRequest = receiving.get(socket);
    const timedOut = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    if (timedOut) core.clientTimedOut(inRequest ? 'request' : 'headers');
    const status = timedOut
      ? '408 Request Timeout'
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? '431 Request Header Fields Too Large'
        : '400 Bad Request';
    if (
      socket.writable &&
      !(inRequest && (socket as Socket & { _httpMessage?: { headersSent: boolean } })._httpMessage?.headersSent)
    ) {
      socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    }
    if (inRequest) inRequest.destroy(timedOut ? new ClientTimeoutError('request', deadlines.requestMs) : error);
    else socket.destroy();
  });

  return {
    server,
    lifecycle,
    state: core.state,
    flags: core.flags,
    metrics: core.metrics,
    counters: { get: core.metrics.routeCount },
    onServed: core.onServed,
    shadow: core.shadow,
    closeTunnels: core.closeTunnels,
    close: () => {
      core.close();
      core.flags.stop();
    },
  };
}
