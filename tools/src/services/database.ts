import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger, Migration } from '../../../platform/src/index.js';
import {
  createDb,
  databaseName,
  ensureDatabase,
  FicusError,
  migrateSchema,
  moduleDatabaseUrl,
  moduleRoleName,
  provisionModuleSchema,
  withDatabase,
} from '../../../platform/src/index.js';
import type { FoundService } from './manifest.js';

/**
 * The development database of a service, beside the monolith's on the same server: `ficus` →
 * `ficus_catalog`. Named after the monolith's database, so several monoliths on one server
 * (test runs, two checkouts) each get their own.
 */
export function serviceDatabaseName(monolithUrl: string, service: Pick<FoundService, 'schema'>): string {
  return `${databaseName(monolithUrl)}_${service.schema}`;
}

/** Where a service's database is: its admin URL and the URL of its own role. */
export interface ServiceDatabase {
  service: FoundService;
  adminUrl: string;
  url: string;
}

/**
 * The service's migrations: its TypeScript source when the sources run directly (this
 * repository, tsx), else its build (`dist/services/<name>/src/migrations/index.js`, in an image).
 */
async function serviceMigrations(root: string, service: FoundService): Promise<readonly Migration[]> {
  const candidates = [
    join(root, service.dir, 'src/migrations/index.ts'),
    join(root, 'dist', service.dir, 'src/migrations/index.js'),
  ];
  const file = candidates.find((candidate) => existsSync(candidate));
  if (!file) {
    throw new FicusError(
      'FICUS_ERR_CONFIG',
      `${service.dir}: found neither ${candidates.join(' nor ')}; a service lists its migrations in src/migrations/index.ts`,
    );
  }
  const loaded = (await import(pathToFileURL(file).href)) as { migrations?: readonly Migration[] };
  if (!Array.isArray(loaded.migrations)) {
    throw new FicusError('FICUS_ERR_CONFIG', `${file} must export \`migrations\`, the service's list of migrations`);
  }
  return loaded.migrations;
}

/**
 * Creates each service's database on the monolith's server (unless it exists), its role and
 * schema (the module's role name: the same owner on both sides), then runs the service's
 * migrations as that role, so the tables exist before replication fills them.
 */
export async function migrateServiceDatabases(
  root: string,
  services: readonly FoundService[],
  config: { DATABASE_URL: string; DB_ROLE_PREFIX: string; DB_ROLE_PASSWORD: string },
  logger?: Logger,
): Promise<ServiceDatabase[]> {
  const databases: ServiceDatabase[] = [];
  for (const service of services) {
    const name = serviceDatabaseName(config.DATABASE_URL, service);
    await ensureDatabase(config.DATABASE_URL, name);
    const adminUrl = withDatabase(config.DATABASE_URL, name);
    const role = moduleRoleName(config.DB_ROLE_PREFIX, service.schema);
    const admin = createDb(adminUrl, { poolMax: 1, applicationName: 'ficus-provision' });
    try {
      await provisionModuleSchema(admin, { schema: service.schema, role, password: config.DB_ROLE_PASSWORD });
    } finally {
      await admin.destroy();
    }
    const url = moduleDatabaseUrl(adminUrl, role, config.DB_ROLE_PASSWORD);
    const db = createDb(url, { poolMax: 1, searchPath: [service.schema], applicationName: `ficus-${service.name}` });
    try {
      const applied = await migrateSchema(db, {
        schema: service.schema,
        migrations: await serviceMigrations(root, service),
      });
      logger?.info(
        { service: service.name, database: name, applied },
        applied.length ? 'migrated' : 'schema up to date',
      );
    } finally {
      await db.destroy();
    }
    databases.push({ service, adminUrl, url });
  }
  return databases;
}
