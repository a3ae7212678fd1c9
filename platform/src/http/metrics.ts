import type { Request, RequestHandler } from 'express';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface HttpMetrics {
  registry: Registry;
  middleware: RequestHandler;
  handler: RequestHandler;
}

/**
 * Keeps the mount path of the router that handles the request: express resets `req.baseUrl`
 * when an error leaves the router, and the error's response must still be labelled by route.
 */
export const rememberMountPath: RequestHandler = (req, res, next) => {
  res.locals['mountPath'] = req.baseUrl;
  next();
};

/** The matched route pattern (`/api/v1/orders/:id`), never the raw path, to bound label cardinality. */
function routeLabel(req: Request, mountPath: unknown): string {
  const route = req.route as { path?: unknown } | undefined;
  if (typeof route?.path !== 'string') return 'unmatched';
  return `${typeof mountPath === 'string' ? mountPath : req.baseUrl}${route.path}`;
}

/**
 * Request count and latency by method, route and status, on a registry of this app's own
 * (with the process metrics), or on `shared` when the app's metrics join another registry.
 */
export function createHttpMetrics(prefix: string, shared?: Registry): HttpMetrics {
  const registry = shared ?? new Registry();
  if (!shared) collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: `${prefix}_http_requests_total`,
    help: 'HTTP requests handled, by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: `${prefix}_http_request_duration_seconds`,
    help: 'HTTP request latency in seconds, by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const middleware: RequestHandler = (req, res, next) => {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const labels = {
        method: req.method,
        route: routeLabel(req, res.locals['mountPath']),
        status: String(res.statusCode),
      };
      requests.inc(labels);
      duration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  };
  const handler: RequestHandler = async (_req, res, next) => {
    try {
      res.type(registry.contentType).send(await registry.metrics());
    } catch (error) {
      next(error);
    }
  };
  return { registry, middleware, handler };
}
