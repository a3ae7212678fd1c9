/**
 * Entry point of the monolith as its own process (containers, e2e tests):
 * reads the environment once, starts, and shuts down gracefully on SIGTERM/SIGINT.
 * The database must already be migrated (`ficus db migrate`); `npm start` does that for you.
 */
import { createLogger, exitOnSignals, loadConfig, runMain } from '../../platform/src/index.js';
import { startMonolith } from './app.js';
import { monolithConfigSchema } from './config.js';

await runMain('monolith', async () => {
  const config = loadConfig(monolithConfigSchema, process.env);
  const logger = createLogger({ level: config.LOG_LEVEL, name: 'monolith' });
  const running = await startMonolith({ config, logger });
  logger.info({ url: running.url }, 'monolith listening');
  exitOnSignals(running.shutdown, logger);
});
