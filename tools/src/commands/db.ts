import { Command } from 'commander';
import { createLogger, loadConfig } from '../../../platform/src/index.js';
import { monolithConfigSchema } from '../../../monolith/src/config.js';
import { migrateModules, rollbackModules, seedModules } from '../../../monolith/src/database.js';
import { migrateServiceDatabases } from '../services/database.js';
import { discoverServices } from '../services/manifest.js';

type Env = Record<string, string | undefined>;

/** `ficus db`: provision, migrate, roll back and seed the monolith's module schemas on DATABASE_URL. */
export function dbCommand(env: Env): Command {
  const db = new Command('db').description(
    'provision, migrate, roll back and seed module schemas (needs DATABASE_URL)',
  );
  const moduleOption = ['-m, --module <name...>', 'only these modules (default: all)'] as const;
  const setup = () => {
    const config = loadConfig(monolithConfigSchema, env);
    return { config, logger: createLogger({ level: config.LOG_LEVEL, name: 'ficus-db' }) };
  };
  db.command('migrate')
    .description(
      "create each module's role and schema, then run its pending migrations as that role; then the same for " +
        'each service under services/, in a database of its own on the same server (<database>_<schema>, e.g. ficus_catalog)',
    )
    .option('-m, --module <name...>', 'only these modules and services (default: all)')
    .action(async (options: { module?: string[] }) => {
      const { config, logger } = setup();
      const services = discoverServices('.').filter((s) => !options.module || options.module.includes(s.name));
      await migrateModules(config, { only: options.module, logger });
      await migrateServiceDatabases('.', services, { ...config, DATABASE_URL: config.DATABASE_URL! }, logger);
    });
  db.command('rollback')
    .description('undo every migration of the modules (last module first); data in their tables is lost')
    .option(...moduleOption)
    .action(async (options: { module?: string[] }) => {
      const { config, logger } = setup();
      await rollbackModules(config, { only: options.module, logger });
    });
  db.command('seed')
    .description('load the demo data (idempotent)')
    .option(...moduleOption)
    .action(async (options: { module?: string[] }) => {
      const { config, logger } = setup();
      await seedModules(config, { only: options.module, logger });
    });
  return db;
}
