import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Request, RequestHandler, Response } from 'express';
import { createRoutingCore, type RoutingOptions } from './core.js';
import type { RouterMetrics } from './metrics.js';
import { hpmTransport } from './proxy/hpm-transport.js';
import type { ServedListener } from './served-event.js';
import type { Shadow } from './shadow/shadow.js';
import type { RouterState } from './state.js';

/**
 * Options of the express middleware form of the ficus router.
 * @example
 * const flags = FlagSource.fromFile('router/flags.json', { logger });
 * await flags.start();
 * app.use(ficusRouter({ table: loadRouteTable('router/routes.yaml'), routesFile: 'router/routes.yaml', flags, logger }));
 */
export interface FicusRouterMiddlewareOptions extends RoutingOptions {
  /** Called after every response, like the standalone router's served events. */
  onServed?: ServedListener;
}

export type FicusRouterMiddleware = RequestHandler & {
  /** Routes WebSocket upgrades by the same table: `server.on('upgrade', router.upgrade)`. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  state: RouterState;
  /** The router's Prometheus registry (mount `metrics.registry.metrics()` where you serve metrics). */
  metrics: RouterMetrics;
  onServed(listener: ServedListener): void;
  /** Shadow traffic: the mirror and the parity it records. */
  shadow: Shadow;
  close(): void;
};

/**
 * The ficus router as express middleware, for teams that already run an express gateway: the
 * routing core of the standalone router (table, normalization, decisions, bulkheads,
 * breakers, the fallback rule, client body and send deadlines, served events), with
 * http-proxy-middleware sending the requests. Mount it at the root (`app.use(ficusRouter(...))`)
 * and before any body parser, so it sees whole paths and unread bodies. The header and
 * whole-request deadlines are the server's: set `server.headersTimeout` and `server.requestTimeout`.
 */
export function ficusRouter(options: FicusRouterMiddlewareOptions): FicusRouterMiddleware {
  const core = createRoutingCore({ ...options, transport: hpmTransport() });
  if (options.onServed) core.onServed(options.onServed);
  const middleware = (req: Request, res: Response) => core.handle(req, res, req.originalUrl);
  return Object.assign(middleware, {
    upgrade: core.upgrade,
    state: core.state,
    metrics: core.metrics,
    onServed: core.onServed,
    shadow: core.shadow,
    close: core.close,
  });
}
