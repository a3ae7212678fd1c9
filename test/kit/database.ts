import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { dropDatabase, ensureDatabase, loadConfig, withDatabase } from '../../platform/src/index.js';
import { monolithConfigSchema, type MonolithConfig } from '../../monolith/src/config.js';
import { migrateModules } from '../../monolith/src/database.js';

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
    ...options.env,
  });
  if (options.migrate !== false) await migrateModules(config);
  return { url, config, drop: () => dropDatabase(adminUrl, name) };
}
