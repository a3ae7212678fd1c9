import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import {
  createDb,
  databaseName,
  dropDatabase,
  ensureDatabase,
  loadConfig,
  migrateSchema,
  moduleDatabaseUrl,
  moduleRoleName,
  provisionModuleSchema,
  withDatabase,
} from '../../platform/src/index.js';
import { migrations as catalogMigrations } from '../../monolith/src/modules/catalog/migrations/index.js';
import { monolithConfigSchema, type MonolithConfig } from '../../monolith/src/config.js';
import { migrateModules } from '../../monolith/src/database.js';
import { definedModules } from '../../monolith/src/modules.js';

export interface TestDatabase {
  /** Superuser URL of this test file's own database. */
  url: string;
  /** Monolith config pointing at it (quiet logs, small pools, short payment timeout). */
  config: MonolithConfig;
  drop(): Promise<void>;
}

/** An isolated database for one test file, on the run's PostgreSQL server; migrated unless told otherwise. */
export async function createTestDatabase(
  options: { migrate?: boolean; env?: Record<string, string> } = {},
): Promise<TestDatabase> {
  const adminUrl = inject('adminUrl');
  const name = `ficus_test_${randomBytes(6).toString('hex')}`;
  await ensureDatabase(adminUrl, name);
  const url = withDatabase(adminUrl, name);
  const config = loadConfig(monolithConfigSchema, {
    DATABASE_URL: url,
    LOG_LEVEL: 'silent',
    DB_POOL_MAX: '4',
    PAYMENT_TIMEOUT_MS: '300',
    // No retry job behind a test's back; a test of it turns it on.
    COMPENSATION_RETRY_MS: '0',
    ...options.env,
  });
  // Every module the starter defines, a retired one too: the suite tests the modules' code.
  if (options.migrate !== false) await migrateModules(config, { modules: definedModules });
  return { url, config, drop: () => dropDatabase(adminUrl, name) };
}

/**
 * The catalog service's database for a monolith test database, on the same server:
 * `<database>_service` with the catalog's tables, owned by the module's role (as `ficus db migrate`
 * makes it), empty.
 */
export async function createServiceDatabase(monolith: TestDatabase): Promise<{ url: string; drop(): Promise<void> }> {
  const adminUrl = inject('adminUrl');
  const name = `${databaseName(monolith.url)}_service`;
  await ensureDatabase(adminUrl, name);
  const url = withDatabase(adminUrl, name);
  // As `ficus db migrate` makes it: the schema owned by the module's role, migrated as that role.
  const role = moduleRoleName(monolith.config.DB_ROLE_PREFIX, 'catalog');
  const admin = createDb(url, { poolMax: 1 });
  try {
    await provisionModuleSchema(admin, { schema: 'catalog', role, password: monolith.config.DB_ROLE_PASSWORD });
  } finally {
    await admin.destroy();
  }
  const migrator = createDb(moduleDatabaseUrl(url, role, monolith.config.DB_ROLE_PASSWORD), {
    poolMax: 1,
    searchPath: ['catalog'],
  });
  try {
    await migrateSchema(migrator, { schema: 'catalog', migrations: catalogMigrations });
  } finally {
    await migrator.destroy();
  }
  return { url, drop: () => dropDatabase(adminUrl, name) };
}
