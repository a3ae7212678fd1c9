import { timingSafeEqual } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { Router, type RequestHandler } from 'express';
import { bearerToken, createHttpApp, FicusError, type HttpApp, type Logger } from '../../platform/src/index.js';
import { retiredStage } from './decide.js';
import type { FicusRouter } from './server.js';
import { buildReport } from './shadow/report.js';
import { addressMatcher } from './trusted-addresses.js';

const isLoopback = addressMatcher(['loopback']);

/**
 * The admin API may go without a token only when every address ADMIN_HOST resolves to is a
 * loopback address: decided on the addresses, so a name like `127.example.com` is not taken
 * for loopback by its spelling.
 */
export async function checkAdminExposure(host: string, token: string | undefined): Promise<void> {
  if (token) return;
  let addresses: string[];
  try {
    addresses = (await lookup(host, { all: true, verbatim: true })).map((entry) => entry.address);
  } catch (error) {
    throw new FicusError(
      'FICUS_ERR_CONFIG',
      `ADMIN_HOST: ${host} does not resolve (${(error as NodeJS.ErrnoException).code}); ` +
        'set it to 127.0.0.1, or to an address with ADMIN_TOKEN set',
      { cause: error },
    );
  }
  const exposed = addresses.filter((address) => !isLoopback(address));
  if (exposed.length > 0) {
    throw new FicusError(
      'FICUS_ERR_CONFIG',
      `ADMIN_TOKEN: required when ADMIN_HOST (${host}) is not a loopback address ` +
        `(it resolves to ${exposed.join(', ')}); set ADMIN_TOKEN to at least 16 characters, or ADMIN_HOST to 127.0.0.1`,
    );
  }
}

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Bearer token check; every admin endpoint but /healthz and /readyz needs it when a token is set. */
function requireToken(token: string | undefined): RequestHandler | undefined {
  if (!token) return undefined;
  return (req, _res, next) => {
    const given = bearerToken(req.headers.authorization) ?? '';
    next(
      sameSecret(given, token)
        ? undefined
        : new FicusError('FICUS_ERR_ADMIN_UNAUTHORIZED', 'send Authorization: Bearer <ADMIN_TOKEN>'),
    );
  };
}

/** The router's state for people and scripts: routes with stage, percent, breaker and counters. */
function routesView(router: FicusRouter) {
  const { state, flags, counters } = router;
  return state.table.routes.map((route) => {
    const { stage, percent, sample = 0 } = route.stage === 'retired' ? retiredStage : flags.stage(route.flag);
    const service = state.upstream(route.service);
    return {
      id: route.id,
      path: route.pattern.source,
      methods: route.methods ? [...route.methods].filter((m) => m !== 'HEAD' || !route.methods!.has('GET')) : 'any',
      service: route.service,
      flag: route.flag,
      stage,
      percent,
      sample,
      fallback: route.fallback,
      breaker: service.breakerState,
      inFlight: service.inFlight,
      counters: counters.get(route.id),
    };
  });
}

/** Admin API on its own port (127.0.0.1 by default): /routes, /status, /healthz, /readyz, /metrics. */
export function createAdminApp(router: FicusRouter, options: { logger: Logger; token?: string }): HttpApp {
  const admin = Router();
  admin.get('/routes', (_req, res) => {
    res.json({ defaultUpstream: router.state.table.defaultUpstream, routes: routesView(router) });
  });
  admin.get('/status', (_req, res) => {
    const upstreams = [...router.state.upstreams].map(([name, u]) => ({
      name,
      url: u.spec.url,
      breaker: u.breakerState,
      inFlight: u.inFlight,
      maxConcurrent: u.spec.maxConcurrent,
    }));
    res.json({ routeTable: router.state.status(), flags: router.flags.status(), upstreams });
  });
  // Parity from the router's store (shared by every router when it is PostgreSQL): the report
  // `ficus parity` prints, and single examples for `ficus parity show`.
  admin.get('/parity', async (req, res) => {
    const route = typeof req.query['route'] === 'string' ? req.query['route'] : undefined;
    const since = typeof req.query['since'] === 'string' ? Number(req.query['since']) : undefined;
    if (since !== undefined && !Number.isFinite(since))
      throw new FicusError('FICUS_ERR_VALIDATION', 'since: expected milliseconds since the epoch');
    const { recorder } = router.shadow;
    await recorder.flush();
    const data = await recorder.store.read({ route, since });
    res.json({ store: recorder.store.description, routes: buildReport(data) });
  });
  admin.get('/parity/examples/:id', async (req, res) => {
    const example = await router.shadow.recorder.store.example(req.params['id']!);
    if (!example) throw new FicusError('FICUS_ERR_NOT_FOUND', `no parity example ${req.params['id']}`);
    res.json(example);
  });
  const protect = requireToken(options.token);
  return createHttpApp({
    metricsPrefix: 'ficus_router_admin',
    logger: options.logger,
    bodyLimit: 64 * 1024,
    registry: router.metrics.registry,
    ...(protect ? { protect } : {}),
    readiness: [
      {
        name: 'flags',
        check: async () => {
          const status = router.flags.status();
          if (!status.ready)
            throw new Error(`no flags received yet from ${status.location}; routes are served by the monolith`);
          // Still ready: the router serves with the last good flags, and taking every router out
          // of the load balancer because the flag service is down would turn that outage into ours.
          if (status.lastError)
            return `${status.lastError.message} (since ${new Date(status.lastError.at).toISOString()}; serving the last good flags)`;
          return undefined;
        },
      },
    ],
    routes: [{ path: '/', router: admin }],
  });
}
