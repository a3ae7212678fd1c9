import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import express, { type Express, type RequestHandler, type Router } from 'express';
import { pinoHttp } from 'pino-http';
import type { Knex } from 'knex';
import type { Registry } from 'prom-client';
import { Lifecycle } from '../lifecycle.js';
import type { Logger } from '../logger.js';
import { dryRunHeader, shadowRequestHandlers } from './dry-run.js';
import { healthz, readyz, type ReadinessCheck } from './health.js';
import { createHttpMetrics, rememberMountPath, type HttpMetrics } from './metrics.js';
import { notFoundHandler, problemHandler } from './problem.js';

const acceptableRequestId = /^[\w.:-]{1,128}$/;

/** The caller's X-Request-Id if well-formed, else a new one (a UUID): one rule for every service and the router. */
export function requestIdOf(incoming: string | string[] | undefined): string {
  return typeof incoming === 'string' && acceptableRequestId.test(incoming) ? incoming : randomUUID();
}

/** The whole path of a request, also inside a mounted router (express's originalUrl). */
const urlOf = (req: { url?: string; originalUrl?: string }) => req.originalUrl ?? req.url;

export interface HttpAppOptions {
  /** Prefix of metric names, e.g. `monolith` → `monolith_http_requests_total`. */
  metricsPrefix: string;
  logger: Logger;
  /** Largest JSON body in bytes; beyond it 413. */
  bodyLimit: number;
  readiness: readonly ReadinessCheck[];
  /** Runs before /metrics and the routes (not the health endpoints), e.g. an admin token check. */
  protect?: RequestHandler;
  /** Serve these metrics on /metrics too (the app's own join this registry). */
  registry?: Registry;
  /** The application's routers, each mounted at its path prefix (e.g. `/api/v1`). */
  routes: ReadonlyArray<{ path: string; router: Router }>;
  /**
   * SHADOW_SECRET: with it, a request whose x-ficus-shadow header the router signed with the same
   * secret runs in dry-run (docs/shadow-writes.md); without it, every such request gets 403.
   * @example createHttpApp({ ..., shadowSecret: config.SHADOW_SECRET, databases: [db] })
   */
  shadowSecret?: string | undefined;
  /**
   * Every knex the routes use (made by createDb, so shadow-safe). In a dry-run request each one
   * stands for a transaction of that request, rolled back at its end; a dry-run request reaching a
   * knex not listed fails instead of writing.
   */
  databases?: readonly Knex[];
}

export interface HttpApp {
  app: Express;
  server: Server;
  lifecycle: Lifecycle;
  metrics: HttpMetrics;
}

/**
 * The chassis every ficus HTTP process shares: request ids and logs, metrics, graceful drain,
 * health endpoints, JSON body limit, problem+json errors, signed shadow requests in dry-run.
 * Applications only mount routes.
 */
export function createHttpApp(options: HttpAppOptions): HttpApp {
  const app = express();
  const lifecycle = new Lifecycle();
  const metrics = createHttpMetrics(options.metricsPrefix, options.registry);
  const shadow = shadowRequestHandlers({
    secret: options.shadowSecret,
    databases: options.databases ?? [],
    logger: options.logger,
  });
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(
    pinoHttp({
      logger: options.logger,
      genReqId: (req, res) => {
        const id = requestIdOf(req.headers['x-request-id']);
        res.setHeader('X-Request-Id', id);
        return id;
      },
      autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/metrics' },
      // One line per request that says what happened; headers stay out of the log.
      customSuccessMessage: (req, res, ms) => `${req.method} ${urlOf(req)} ${res.statusCode} ${Math.round(ms)} ms`,
      customErrorMessage: (req, res, error) => `${req.method} ${urlOf(req)} ${res.statusCode} ${error.message}`,
      customProps: (_req, res) => (res.getHeader(dryRunHeader) ? { dryRun: true } : {}),
      serializers: {
        req: (req: { id: unknown; method: string; url: string; remoteAddress?: string }) => ({
          id: req.id,
          method: req.method,
          url: req.url,
          remoteAddress: req.remoteAddress,
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    }),
  );
  app.use(metrics.middleware);
  app.use(lifecycle.middleware);
  app.get('/healthz', healthz);
  app.get('/readyz', readyz(options.readiness));
  if (options.protect) app.use('/metrics', options.protect);
  app.get('/metrics', metrics.handler);
  app.use(shadow.verify);
  if (options.protect) for (const { path } of options.routes) app.use(path, options.protect);
  app.use(express.json({ limit: options.bodyLimit, strict: true }));
  // After the body parser, so a body refused with 400/413 holds no connection for its transactions.
  app.use(shadow.dryRun);
  for (const { path, router } of options.routes) app.use(path, rememberMountPath, router);
  app.use(notFoundHandler);
  app.use(problemHandler);
  return { app, server: createServer(app), lifecycle, metrics };
}
