import { createTokens, startServer, type Logger, type RunningServer } from '../../platform/src/index.js';
import { checkAdminExposure, createAdminApp } from './admin.js';
import type { RouterConfig } from './config.js';
import { FlagSource } from '../../platform/src/flags/flag-source.js';
import { loadRouteTable } from './route-table/load.js';
import { createRouter, type FicusRouter } from './server.js';
import { PgParityStore } from './shadow/pg-store.js';

export interface RunningRouter {
  router: FicusRouter;
  proxy: RunningServer;
  admin: RunningServer;
  shutdown(reason?: string): Promise<void>;
}

/** Validates the route table and flags (failing loudly), then starts the proxy and admin servers. */
export async function startRouter(
  config: RouterConfig,
  logger: Logger,
  env: Record<string, string | undefined> = {},
): Promise<RunningRouter> {
  await checkAdminExposure(config.ADMIN_HOST, config.ADMIN_TOKEN);
  const table = loadRouteTable(config.ROUTES_FILE, env);
  const flags = config.UNLEASH_URL
    ? FlagSource.fromServer({
        url: config.UNLEASH_URL,
        apiToken: config.UNLEASH_API_TOKEN!,
        refreshMs: config.UNLEASH_REFRESH_MS,
        logger,
      })
    : FlagSource.fromFile(config.FLAGS_FILE, { logger });
  await flags.start();
  const router = createRouter({
    table,
    routesFile: config.ROUTES_FILE,
    env,
    flags,
    logger,
    ...(config.JWT_SECRET ? { tokens: createTokens({ secret: config.JWT_SECRET, ttlSeconds: 3600 }) } : {}),
    ...(config.USER_ID_HEADER ? { userIdHeader: config.USER_ID_HEADER } : {}),
    trustedProxies: config.TRUSTED_PROXIES,
    clientDeadlines: {
      headersMs: config.CLIENT_HEADERS_TIMEOUT_MS,
      bodyIdleMs: config.CLIENT_BODY_TIMEOUT_MS,
      requestMs: config.CLIENT_REQUEST_TIMEOUT_MS,
      sendMs: config.CLIENT_SEND_TIMEOUT_MS,
    },
    sessionCookie: config.SESSION_COOKIE,
    exposeHeaders: config.ROUTER_RESPONSE_HEADERS,
    maxPathLength: config.MAX_PATH_LENGTH,
    replayBodyLimit: config.REPLAY_BODY_LIMIT,
    shadow: {
      ...(config.PARITY_DATABASE_URL
        ? {
            store: new PgParityStore(config.PARITY_DATABASE_URL, {
              logger: logger.child({ component: 'parity-store' }),
            }),
          }
        : {}),
      secret: config.SHADOW_SECRET,
      bodyLimit: config.SHADOW_BODY_LIMIT,
      timeoutMs: config.SHADOW_TIMEOUT_MS,
      threads: config.SHADOW_THREADS,
      shedAbove: config.SHADOW_SHED_ABOVE,
      maxPerSecond: config.SHADOW_MAX_PER_SECOND,
      capture: config.SHADOW_CAPTURE_FILE
        ? { file: config.SHADOW_CAPTURE_FILE, maxBytes: config.SHADOW_CAPTURE_MAX_BYTES }
        : undefined,
      redact: { fields: config.SHADOW_REDACT_FIELDS, headers: config.SHADOW_REDACT_HEADERS },
    },
  });
  try {
    const proxy = await startServer({
      server: router.server,
      lifecycle: router.lifecycle,
      beforeClose: router.closeTunnels,
      host: config.ROUTER_HOST,
      port: config.ROUTER_PORT,
      logger,
      shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    });
    const adminApp = createAdminApp(router, {
      logger: logger.child({ component: 'admin' }),
      ...(config.ADMIN_TOKEN ? { token: config.ADMIN_TOKEN } : {}),
    });
    const admin = await startServer({
      server: adminApp.server,
      lifecycle: adminApp.lifecycle,
      host: config.ADMIN_HOST,
      port: config.ADMIN_PORT,
      logger,
      shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    });
    return {
      router,
      proxy,
      admin,
      shutdown: async (reason) => {
        await Promise.all([proxy.shutdown(reason), admin.shutdown(reason)]);
        router.close();
        // What was compared before the drain reaches the store.
        await router.shadow.close();
      },
    };
  } catch (error) {
    router.close();
    throw error;
  }
}
