import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { createProxyMiddleware, type RequestHandler as ProxyHandler } from 'http-proxy-middleware';
import { FicusError, requestIdOf, writeProblem } from '../../platform/src/index.js';
import { decide, type Decision } from './decide.js';
import { normalizeTarget } from './normalize-path.js';
import { connectionTokens, hopByHop, traceparentOf } from './proxy/headers.js';
import { failureOf } from './proxy/send.js';
import { failureResponse, neverReceived } from './proxy/status-code.js';
import type { Upstream } from './proxy/upstream.js';
import { matchRoute } from './route-table/load.js';
import type { RoutingOptions } from './server.js';
import type { ServedListener } from './served-event.js';
import { RouterState } from './state.js';
import { createUserContext } from './user-context.js';

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

interface RoutedRequest extends IncomingMessage {
  ficus?: { decision: Decision; requestId: string; traceparent: string; started: number; fallbackFrom?: string };
}

/**
 * The ficus router as express middleware, for teams that already run an express gateway:
 * the same route table, path normalization, flag decisions and served events as the
 * standalone router, with http-proxy-middleware doing the proxying. Mount it at the root
 * (`app.use(ficusRouter(...))`) so the table sees whole paths. Resilience differs: a
 * bodiless idempotent request whose service cannot be reached goes to the monolith, but
 * bulkheads and circuit breakers are the standalone router's.
 */
export function ficusRouter(options: FicusRouterMiddlewareOptions): RequestHandler & { upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void; state: RouterState; close(): void } {
  const { flags, logger } = options;
  const state = new RouterState(options.table, { ...(options.routesFile ? { file: options.routesFile } : {}), env: options.env ?? {}, logger });
  if (options.routesFile) state.watch();
  const contextOf = createUserContext({ tokens: options.tokens, userIdHeader: options.userIdHeader, sessionCookie: options.sessionCookie ?? 'sid' });
  const exposeHeaders = options.exposeHeaders ?? true;
  const proxies = new WeakMap<Upstream, ProxyHandler>();
  const socketProxies = new WeakMap<Upstream, ProxyHandler>();

  const proxyFor = (upstream: Upstream): ProxyHandler => {
    let proxy = proxies.get(upstream);
    if (proxy) return proxy;
    proxy = createProxyMiddleware<IncomingMessage, ServerResponse>({
      target: upstream.url,
      changeOrigin: true,
      xfwd: true,
      ws: false,
      agent: upstream.agent,
      proxyTimeout: upstream.spec.responseTimeoutMs,
      on: {
        proxyReq(proxyReq, req) {
          const routed = (req as RoutedRequest).ficus!;
          for (const name of hopByHop) proxyReq.removeHeader(name);
          for (const name of connectionTokens(req.headers.connection) ?? []) proxyReq.removeHeader(name);
          proxyReq.setHeader('x-request-id', routed.requestId);
          proxyReq.setHeader('traceparent', routed.traceparent);
        },
        proxyRes(proxyRes, req, res) {
          for (const name of connectionTokens(proxyRes.headers.connection) ?? []) delete proxyRes.headers[name];
          for (const name of hopByHop) delete proxyRes.headers[name];
          const routed = (req as RoutedRequest).ficus!;
          res.setHeader('x-request-id', routed.requestId);
          if (exposeHeaders) {
            res.setHeader('x-ficus-route', routed.decision.routeId);
            res.setHeader('x-ficus-upstream', upstream.name);
          }
        },
        error(error, req, res) {
          const routed = (req as RoutedRequest).ficus!;
          const response = res as ServerResponse;
          const code = (error as NodeJS.ErrnoException).code;
          // The same reading of the failure as the standalone router's.
          const failure = failureOf(error as NodeJS.ErrnoException);
          const neverSent = neverReceived(failure);
          const replayable = (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') && !req.headers['content-length'] && !req.headers['transfer-encoding'];
          const fallback = routed.decision.fallback;
          if (fallback && upstream !== fallback && neverSent && replayable && !response.headersSent) {
            routed.fallbackFrom = upstream.name;
            void proxyFor(fallback)(req, response);
            return;
          }
          const { status, code: problemCode } = failureResponse(failure);
          if (response.headersSent) response.destroy();
          else writeProblem(response, new FicusError(problemCode, `${upstream.name}: ${code ?? error.message}; try again later`, { status }), { requestId: routed.requestId });
        },
      },
    });
    proxies.set(upstream, proxy);
    return proxy;
  };

  const middleware = (req: Request, res: Response, next: NextFunction) => {
    const started = performance.now();
    const requestId = requestIdOf(req.headers['x-request-id']);
    const target = normalizeTarget(req.originalUrl ?? req.url, options.maxPathLength ?? 2048);
    if (!target.ok) {
      writeProblem(res, new FicusError(target.status === 414 ? 'FICUS_ERR_URI_TOO_LONG' : 'FICUS_ERR_PATH_REJECTED', target.reason, { status: target.status }), { requestId });
      return;
    }
    const route = matchRoute(state.table, req.method, target.segments, req.headers);
    const go = (decision: Decision) => {
      const routed = req as RoutedRequest;
      routed.ficus = { decision, requestId, traceparent: traceparentOf(req.headers['traceparent'], requestId), started };
      // The upstream receives the normalized path.
      req.url = target.path + target.search;
      if (options.onServed) {
        const onServed = options.onServed;
        res.once('finish', () => {
          const upstream = String(res.getHeader('x-ficus-upstream') ?? (routed.ficus!.fallbackFrom ? decision.fallback!.name : decision.primary.name));
          onServed({
            requestId,
            method: req.method,
            path: req.url,
            routeId: decision.routeId,
            stage: decision.stage,
            upstream,
            status: res.statusCode,
            durationMs: performance.now() - started,
            ...(routed.ficus!.fallbackFrom ? { fallback: { from: routed.ficus!.fallbackFrom, reason: 'connect' as const } } : {}),
          });
        });
      }
      proxyFor(decision.primary)(req, res, next).catch(next);
    };
    const decision = decide(state, flags, route, req, contextOf);
    if (decision instanceof Promise) decision.then(go, next);
    else go(decision);
  };

  return Object.assign(middleware, {
    state,
    /** Routes WebSocket upgrades by the same table: `server.on('upgrade', router.upgrade)`. */
    upgrade(req: IncomingMessage, socket: Duplex, head: Buffer) {
      const target = normalizeTarget(req.url ?? '/', options.maxPathLength ?? 2048);
      if (!target.ok) return void socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      const route = matchRoute(state.table, req.method ?? 'GET', target.segments, req.headers);
      void Promise.resolve(decide(state, flags, route, req, contextOf)).then((decision) => {
        req.url = target.path + target.search;
        let proxy = socketProxies.get(decision.primary);
        if (!proxy) socketProxies.set(decision.primary, (proxy = createProxyMiddleware({ target: decision.primary.url, changeOrigin: true, ws: true })));
        proxy.upgrade(req, socket as never, head);
      });
    },
    close() {
      state.close();
    },
  });
}
