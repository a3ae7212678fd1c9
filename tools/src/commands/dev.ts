import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { z } from 'zod';
import {
  createDb,
  createLogger,
  databaseName,
  ensureDatabase,
  exitOnSignals,
  loadConfig,
  moduleRoleName,
  port,
  postgresUrl,
  withDatabase,
} from '../../../platform/src/index.js';
import { startMonolith } from '../../../monolith/src/app.js';
import { monolithConfigSchema } from '../../../monolith/src/config.js';
import { migrateModules, seedModules } from '../../../monolith/src/database.js';
import { modules, retiredModules } from '../../../monolith/src/modules.js';
import { demoAccounts } from '../../../monolith/src/modules/users/index.js';
import { sandboxCards } from '../../../monolith/src/modules/payments/index.js';
import type { RunningPostgres } from '../embedded-postgres.js';
import { routerConfigSchema } from '../../../router/src/config.js';
import { startRouter } from '../../../router/src/main.js';
import { writesAllowed } from '../data/freeze.js';
import { replicationName } from '../data/names.js';
import { type DataPair, withPair } from '../data/pair.js';
import { startSync, subscriptionState } from '../data/sync.js';
import { migrateServiceDatabases } from '../services/database.js';
import { takesWrites } from '../flags/write-routes.js';
import { discoverServices } from '../services/manifest.js';
import { startServices } from '../services/run-services.js';

const devConfigSchema = z.object({
  DATABASE_URL: postgresUrl.optional(),
  /** Embedded PostgreSQL data folder, kept across restarts (gitignored). */
  FICUS_DATA_DIR: z.string().min(1).default('.data'),
  FICUS_PG_PORT: port.default(54329),
  /** `pretty` (one line per request) or `json` (pino's JSON lines). */
  LOG_FORMAT: z.enum(['pretty', 'json']).default('pretty'),
});

type Env = Record<string, string | undefined>;

/**
 * The router's own database (`<db>_router`) on the demo's server, for parity results; without
 * the right to create it (a DATABASE_URL of the user's), the router keeps parity in memory.
 */
async function routerDatabase(databaseUrl: string, say: (line: string) => void): Promise<string | undefined> {
  const name = `${databaseName(databaseUrl)}_router`;
  try {
    await ensureDatabase(databaseUrl, name);
    return withDatabase(databaseUrl, name);
  } catch (error) {
    say(`ficus: the router keeps parity in memory: database ${name} cannot be created (${(error as Error).message})`);
    return undefined;
  }
}

/** The monolith modules whose tables refuse their role's writes: frozen by a cutover. */
async function frozenModules(databaseUrl: string, rolePrefix: string): Promise<string[]> {
  const admin = createDb(databaseUrl, { poolMax: 1, applicationName: 'ficus-dev' });
  try {
    const frozen: string[] = [];
    for (const { manifest } of modules)
      if (!(await writesAllowed(admin, manifest.schema, moduleRoleName(rolePrefix, manifest.schema))))
        frozen.push(manifest.name);
    return frozen;
  } finally {
    await admin.destroy();
  }
}

/**
 * Whether a cutover made the pair's target the writer: the monolith replicates from it, and
 * it no longer from the monolith (both at once: a cutover was interrupted before its switch).
 */
async function writesMoved(pair: DataPair): Promise<boolean> {
  const back = { ...pair, sourceUrl: pair.targetUrl, targetUrl: pair.sourceUrl };
  try {
    return await withPair(
      pair,
      async ({ source, target }) =>
        (await subscriptionState(source, replicationName(back))) !== 'none' &&
        (await subscriptionState(target, replicationName(pair))) === 'none',
    );
  } catch {
    return false;
  }
}

/**
 * `npm start`: a real PostgreSQL (embedded unless DATABASE_URL is set), every module's
 * migrations and demo data, the monolith, every service under services/ (its own database,
 * migrations, data replicated from its module, a supervised process), and the router in front.
 * Ctrl-C stops all of it, PostgreSQL last.
 */
export async function runDev(env: Env, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const started = Date.now();
  const dev = loadConfig(devConfigSchema, env);
  const say = (line: string) => out.write(`${line}\n`);
  let postgres: RunningPostgres | undefined;
  let databaseUrl = dev.DATABASE_URL;
  if (!databaseUrl) {
    const dataDir = join(dev.FICUS_DATA_DIR, 'postgres');
    say(`ficus: starting embedded PostgreSQL on 127.0.0.1:${dev.FICUS_PG_PORT} (data in ${dataDir})`);
    // Loaded only here: embedded-postgres is a development dependency, absent from production images.
    const { startEmbeddedPostgres } = await import('../embedded-postgres.js');
    postgres = await startEmbeddedPostgres({
      dataDir,
      port: dev.FICUS_PG_PORT,
      logFile: join(dev.FICUS_DATA_DIR, 'postgres.log'),
      say,
    });
    databaseUrl = withDatabase(postgres.url, 'ficus');
    await ensureDatabase(postgres.url, 'ficus');
  } else {
    say(`ficus: using the PostgreSQL server of DATABASE_URL (database ${databaseName(databaseUrl)})`);
  }
  let services: Awaited<ReturnType<typeof startServices>> | undefined;
  // One secret for the demo's router and every upstream, so mirrored writes of dry-run routes are
  // signed and honoured; a new one per run, as nothing outlives the run that needs it.
  const shadowSecret = env['SHADOW_SECRET'] ?? randomBytes(32).toString('base64url');
  try {
    const monolithEnv = {
      ...env,
      DATABASE_URL: databaseUrl,
      SHADOW_SECRET: shadowSecret,
      FLAGS_FILE: env['FLAGS_FILE'] ?? 'router/flags.json',
    };
    const config = loadConfig(monolithConfigSchema, monolithEnv);
    // One readable line per request for a person at a terminal; LOG_FORMAT=json for the raw pino JSON.
    const logger = createLogger({ level: config.LOG_LEVEL, name: 'monolith', pretty: dev.LOG_FORMAT === 'pretty' });
    // A module whose writes a cutover moved to its service keeps only a frozen copy here.
    const moved = await frozenModules(databaseUrl, config.DB_ROLE_PREFIX);
    for (const name of moved)
      say(
        `ficus: ${name}: its writes are on its service (cut over); the monolith's copy is neither migrated nor seeded`,
      );
    say('ficus: provisioning module roles and schemas, running migrations');
    await migrateModules(config, { except: moved });
    say('ficus: loading demo data');
    await seedModules(config, { except: moved });
    const found = discoverServices('.');
    if (found.length) {
      say(`ficus: services ${found.map((s) => s.name).join(', ')}: own databases, migrations, processes`);
      const databases = await migrateServiceDatabases('.', found, { ...config, DATABASE_URL: databaseUrl });
      // The monolith stays the writer; each service reads a replica of its module's tables. The
      // demo's service data is a copy, so a service table left with rows by a stopped sync is reset.
      for (const { service, adminUrl } of databases) {
        const pair = {
          module: service.module,
          schema: service.schema,
          sourceUrl: databaseUrl,
          targetUrl: adminUrl,
          say,
        };
        if (retiredModules.has(service.module)) {
          say(`ficus: ${service.module} is retired: the service ${service.name} owns its data`);
          continue;
        }
        // After a cutover the service is the writer and the monolith its copy: nothing to copy forward.
        if (await writesMoved(pair)) {
          say(`ficus: ${service.module}: its writes are on the service ${service.name}; the monolith keeps a copy`);
          continue;
        }
        // A server without logical replication (a DATABASE_URL of the user's) still runs the demo.
        await startSync(pair, { reset: true }).catch((error: Error) =>
          say(
            `ficus: ${service.name}: its data is not replicated (${error.message}); it serves what its database holds`,
          ),
        );
      }
      services = await startServices({
        root: '.',
        databases,
        env: { ...env, SHADOW_SECRET: shadowSecret },
        jwtSecret: config.JWT_SECRET,
        say,
      });
    }
    const parityUrl = env['PARITY_DATABASE_URL'] ?? (await routerDatabase(databaseUrl, say));
    // The monolith follows the router's flags (ficus.<module>-api after a cutover), knows each service's URL
    // and holds the token its API requires.
    const monolithConfig = loadConfig(monolithConfigSchema, {
      ...monolithEnv,
      ...services?.routerEnv,
      ...services?.callerEnv,
    });
    const running = await startMonolith({ config: monolithConfig, logger });
    // The router in front: the route table names the monolith by MONOLITH_URL, services by <NAME>_SERVICE_URL.
    const routerEnv = {
      ...env,
      ...services?.routerEnv,
      MONOLITH_URL: env['MONOLITH_URL'] ?? running.url,
      JWT_SECRET: env['JWT_SECRET'] ?? config.JWT_SECRET,
      SHADOW_SECRET: shadowSecret,
      ...(parityUrl ? { PARITY_DATABASE_URL: parityUrl } : {}),
    };
    const routerConfig = loadConfig(routerConfigSchema, routerEnv);
    const routerLogger = logger.child({ name: 'router' });
    const router = await startRouter(routerConfig, routerLogger, routerEnv);
    // What the router did with each request, in one line: where it went and why.
    router.router.onServed((e) => {
      const fallback = e.fallback ? `, fell back from ${e.fallback.from}: ${e.fallback.reason}` : '';
      routerLogger.info(
        `${e.method} ${e.path} → ${e.upstream} ${e.status} ${Math.round(e.durationMs)} ms (${e.routeId}, ${e.stage}${fallback})`,
      );
    });
    const [admin, customer] = demoAccounts;
    say('');
    say(`ficus is up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    say(`  router        ${router.proxy.url}   (try ${router.proxy.url}/api/v1/products)`);
    say(`  router admin  ${router.admin.url}/routes   ${router.admin.url}/status   ${router.admin.url}/metrics`);
    say(
      `  monolith      ${running.url}   health ${running.url}/healthz   ${running.url}/readyz   metrics ${running.url}/metrics`,
    );
    for (const service of services?.services ?? []) {
      const pid = service.process.pid ? `, pid ${service.process.pid}` : '';
      say(`  ${service.name.padEnd(13)} ${service.url}   (service${pid}; health ${service.url}/readyz)`);
    }
    say(`  demo admin    ${admin!.email} / ${admin!.password}`);
    say(`  demo customer ${customer!.email} / ${customer!.password}`);
    say(
      `  sandbox cards approve ${sandboxCards.approved}, decline ${sandboxCards.declined}, time out ${sandboxCards.timeout}`,
    );
    // The first route a flag can still move, and that takes only reads: the one to shadow first.
    const readRoute = router.router.state.table.routes.find((r) => r.stage !== 'retired' && !takesWrites(r));
    say(
      `  stages        npx ficus flags status${readRoute ? `   (shadow: npx ficus flags set ${readRoute.id} --stage shadow --sample 100)` : ''}`,
    );
    say(
      `  parity        npx ficus parity   (${parityUrl ? `stored in database ${databaseName(parityUrl)}` : 'kept in the router'})`,
    );
    say('Press Ctrl-C to stop.');
    say('');
    exitOnSignals(async (signal) => {
      say(`ficus: ${signal}: stopping the router, the services, the monolith${postgres ? ' and PostgreSQL' : ''}`);
      try {
        await router.shutdown(signal);
        await services?.stop();
        await running.shutdown(signal);
      } finally {
        await postgres?.stop();
      }
    }, logger);
  } catch (error) {
    await services?.stop();
    await postgres?.stop();
    throw error;
  }
}
