/**
 * The router as its own process: reads the environment once, validates the route table and
 * flags, serves, and drains on SIGTERM/SIGINT. `ficus router` runs the same `runRouter`.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createLogger, exitOnSignals, FicusError, loadConfig } from '../../platform/src/index.js';
import { routerConfigSchema } from './config.js';
import { startRouter, type RunningRouter } from './main.js';

/**
 * Starts the router configured by `env` (the variables of routerConfigSchema, and those the route table reads) and
 * exits the process once a SIGTERM or SIGINT has drained it. Throws when the configuration is invalid.
 * @example
 * await runRouter(process.env);
 */
export async function runRouter(env: Record<string, string | undefined>): Promise<RunningRouter> {
  const config = loadConfig(routerConfigSchema, env);
  const logger = createLogger({ level: config.LOG_LEVEL, name: 'router' });
  const running = await startRouter(config, logger, env);
  logger.info({ proxy: running.proxy.url, admin: running.admin.url }, 'router listening');
  exitOnSignals(running.shutdown, logger);
  return running;
}

/** Whether this file is the one node was asked to run, rather than imported (by `ficus router`). */
function isEntryPoint(): boolean {
  // import.meta.main arrived in Node 24.2 and 22.18; engines allows older 22s.
  if (typeof import.meta.main === 'boolean') return import.meta.main;
  const script = process.argv[1];
  return script !== undefined && realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
}

if (isEntryPoint()) {
  try {
    await runRouter(process.env);
  } catch (error) {
    const message = error instanceof FicusError ? `${error.code}: ${error.message}` : (error as Error)?.stack;
    process.stderr.write(`router: ${message ?? String(error)}\n`);
    process.exit(1);
  }
}
