import type { HttpApp, Knex, Logger, ModuleDefinition, RunningServer } from '../../platform/src/index.js';
import { apiFlagOf, createHttpApp, createTokens, FlagSource, startServer } from '../../platform/src/index.js';
import type { MonolithConfig } from './config.js';
import { openModuleDb } from './database.js';
import { createCatalog } from './modules/catalog/index.js';
import { createOrders } from './modules/orders/index.js';
import { createPayments, createSandboxProvider, type PaymentProvider } from './modules/payments/index.js';
import { createUsers } from './modules/users/index.js';
import { modules } from './modules.js';

export interface MonolithDeps {
  config: MonolithConfig;
  logger: Logger;
  /** The payment provider adapter; the deterministic sandbox when omitted. */
  paymentProvider?: PaymentProvider;
  /** Flags the monolith follows (which implementation of an extracted module's API to call). */
  flags?: FlagSource | undefined;
  /** The modules composed: `modules` (the repository's composition, no retired one) when omitted. */
  modules?: readonly ModuleDefinition[];
}

/** The toggle `ficus data cutover catalog` turns on when the catalog's writes move to its service. */
const catalogApiFlag = apiFlagOf('catalog');

export interface Monolith extends HttpApp {
  /** Each module's knex, connected as its own role. */
  dbs: ReadonlyMap<string, Knex>;
  close(): Promise<void>;
}

/** The composition root: one knex per module, modules wired through their index.ts, routes under /api/v1. Nothing else. */
export function createMonolith(deps: MonolithDeps): Monolith {
  const { config, logger } = deps;
  const dbs = new Map(
    (deps.modules ?? modules).map((definition) => [
      definition.manifest.name,
      openModuleDb(config, definition, { logger }),
    ]),
  );
  const db = (name: string) => dbs.get(name)!;
  const tokens = createTokens({ secret: config.JWT_SECRET, ttlSeconds: config.JWT_TTL_SECONDS });

  const catalog = createCatalog({
    // Absent when catalog is retired: then only the service's API is left.
    db: dbs.get('catalog'),
    tokens,
    remote: config.CATALOG_SERVICE_URL
      ? {
          baseUrl: config.CATALOG_SERVICE_URL,
          timeoutMs: config.CATALOG_API_TIMEOUT_MS,
          token: config.CATALOG_API_TOKEN,
        }
      : undefined,
    // The API flag a cutover flips, when the flags hold it; else the configured implementation.
    mode: () =>
      deps.flags?.has(catalogApiFlag)
        ? deps.flags.isEnabled(catalogApiFlag, {})
          ? 'remote'
          : 'local'
        : config.CATALOG_API,
  });
  const users = createUsers({ db: db('users'), tokens });
  const payments = createPayments({
    db: db('payments'),
    tokens,
    provider: deps.paymentProvider ?? createSandboxProvider(),
    timeoutMs: config.PAYMENT_TIMEOUT_MS,
  });
  const orders = createOrders({
    db: db('orders'),
    tokens,
    logger: logger.child({ module: 'orders' }),
    catalog: catalog.api,
    payments: payments.api,
    catalogService: catalog.service,
    retryCompensationsMs: config.COMPENSATION_RETRY_MS,
  });

  const http = createHttpApp({
    metricsPrefix: 'monolith',
    logger,
    bodyLimit: config.BODY_LIMIT,
    readiness: [...dbs].map(([name, knex]) => ({
      name: `db:${name}`,
      check: async () => void (await knex.raw('select 1')),
    })),
    routes: [catalog, users, payments, orders].map((module) => ({ path: '/api/v1', router: module.routes })),
    shadowSecret: config.SHADOW_SECRET,
    databases: [...dbs.values()],
  });
  return {
    ...http,
    dbs,
    close: async () => {
      // The retry job first: it calls the catalog and writes orders.
      await orders.close();
      await Promise.all([catalog.close(), ...[...dbs.values()].map((knex) => knex.destroy())]);
    },
  };
}

/** Starts the monolith on HOST:PORT; shutdown drains requests, then closes the pools. */
export async function startMonolith(deps: MonolithDeps): Promise<RunningServer & { monolith: Monolith }> {
  const { config } = deps;
  const flags =
    deps.flags ??
    (config.UNLEASH_URL && config.UNLEASH_API_TOKEN
      ? FlagSource.fromServer({
          url: config.UNLEASH_URL,
          apiToken: config.UNLEASH_API_TOKEN,
          refreshMs: 5000,
          logger: deps.logger,
        })
      : config.FLAGS_FILE
        ? FlagSource.fromFile(config.FLAGS_FILE, { logger: deps.logger })
        : undefined);
  if (flags && !deps.flags) await flags.start();
  const monolith = createMonolith({ ...deps, flags });
  const running = await startServer({
    server: monolith.server,
    lifecycle: monolith.lifecycle,
    host: deps.config.HOST,
    port: deps.config.PORT,
    logger: deps.logger,
    shutdownTimeoutMs: deps.config.SHUTDOWN_TIMEOUT_MS,
    onClose: async () => {
      await monolith.close();
      if (!deps.flags) flags?.stop();
    },
  });
  return { ...running, monolith };
}
