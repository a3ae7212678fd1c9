/**
 * The router as its own process: reads the environment once, validates the route table and
 * flags, serves, and drains on SIGTERM/SIGINT.
 */
import { createLogger, exitOnSignals, FicusError, loadConfig } from '../../platform/src/index.js';
import { routerConfigSchema } from './config.js';
import { startRouter } from './main.js';

try {
  const config = loadConfig(routerConfigSchema, process.env);
  const logger = createLogger({ level: config.LOG_LEVEL, name: 'router' });
  const running = await startRouter(config, logger, process.env);
  logger.info({ proxy: running.proxy.url, admin: running.admin.url }, 'router listening');
  exitOnSignals(running.shutdown, logger);
} catch (error) {
  process.stderr.write(`router: ${error instanceof FicusError ? `${error.code}: ${error.message}` : String((error as Error)?.stack ?? error)}\n`);
  process.exit(1);
}
