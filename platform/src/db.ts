import knexFactory, { type Knex } from 'knex';
import { FicusError } from './errors.js';
import type { Logger } from './logger.js';
import { shadowSafe } from './shadow-safe.js';

export type { Knex };

export interface DbOptions {
  /** Largest number of pooled connections. */
  poolMax?: number;
  /** Schemas to resolve unqualified table names in; a module's knex uses its own schema only. */
  searchPath?: string[];
  /** Shown in pg_stat_activity, so a DBA can tell which module holds a connection. */
  applicationName?: string;
  /** Where knex reports pool and query warnings; knex writes to the console without one. */
  logger?: Logger;
}

/**
 * A knex instance on PostgreSQL. Every pool in ficus is made here. It is shadow-safe (see
 * shadowSafe): given to createHttpApp's `databases`, it runs a signed shadow request's queries in a
 * transaction that is rolled back, with no change to the code that uses it.
 */
export function createDb(connectionString: string, options: DbOptions = {}): Knex {
  const knex = knexFactory({
    client: 'pg',
    connection: { connectionString, application_name: options.applicationName ?? 'ficus' },
    pool: { min: 0, max: options.poolMax ?? 10 },
    ...(options.searchPath ? { searchPath: options.searchPath } : {}),
    acquireConnectionTimeout: 10_000,
    ...(options.logger ? { log: knexLog(options.logger) } : {}),
  });
  return shadowSafe(knex);
}

function knexLog(logger: Logger): Knex.Config['log'] {
  const text = (message: unknown) => (message instanceof Error ? message.message : String(message));
  return {
    warn: (message: unknown) => logger.warn({ source: 'knex' }, text(message)),
    error: (message: unknown) => logger.error({ source: 'knex' }, text(message)),
    deprecate: (method: string, alternative: string) =>
      logger.warn({ source: 'knex' }, `${method} is deprecated, use ${alternative}`),
    debug: (message: unknown) => logger.debug({ source: 'knex' }, text(message)),
  };
}

/** Database role of the module that owns `schema`, e.g. `ficus_catalog`. */
export function moduleRoleName(prefix: string, schema: string): string {
  return `${prefix}${schema}`;
}

/** The admin URL with the module role's credentials in place of the admin's. */
export function moduleDatabaseUrl(adminUrl: string, role: string, password: string): string {
  const url = new URL(adminUrl);
  url.username = encodeURIComponent(role);
  url.password = encodeURIComponent(password);
  return url.toString();
}

/** The database name in a postgres:// URL. */
export function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, '')) || 'postgres';
}

/** `url` pointing at another database on the same server. */
export function withDatabase(url: string, database: string): string {
  const next = new URL(url);
  next.pathname = `/${encodeURIComponent(database)}`;
  return next.toString();
}

const identifier = /^[a-z_][a-z0-9_]{0,62}$/;

function quoteIdent(name: string): string {
  if (!identifier.test(name)) {
    throw new FicusError(
      'FICUS_ERR_DB_PROVISION',
      `"${name}" is not a safe PostgreSQL identifier; use lower-case letters, digits and _`,
    );
  }
  return `"${name}"`;
}

/**
 * A string literal for statements that take no bind parameters (CREATE ROLE's PASSWORD,
 * CREATE SUBSCRIPTION's CONNECTION); standard_conforming_strings is on, so only quotes double.
 */
export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

const retryable = new Set(['23505', 'XX000', '40001']);

/**
 * Creates the module's login role (if missing) and its schema owned by that role, so the
 * module's migrations and queries run as a role that can reach nothing else.
 * Needs an admin connection with CREATEROLE and CREATE on the database.
 */
export async function provisionModuleSchema(
  admin: Knex,
  spec: { schema: string; role: string; password: string },
): Promise<void> {
  const role = quoteIdent(spec.role);
  const schema = quoteIdent(spec.schema);
  // Roles are cluster-wide: several databases on one server (tests, or two apps) may race to
  // create the same role, which PostgreSQL reports as a unique or concurrent-update error.
  for (let attempt = 0; ; attempt++) {
    try {
      await admin.raw(`DO $$ BEGIN
          IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ${quoteLiteral(spec.role)}) THEN
            CREATE ROLE ${role} LOGIN PASSWORD ${quoteLiteral(spec.password)};
          END IF;
        END $$`);
      break;
    } catch (error) {
      const code = (error as { code?: string }).code ?? '';
      if (attempt < 5 && retryable.has(code)) {
        await new Promise((resolve) => setTimeout(resolve, 20 * (attempt + 1)));
        continue;
      }
      throw new FicusError(
        'FICUS_ERR_DB_PROVISION',
        `could not create role ${spec.role}: ${(error as Error).message}. ` +
          'The DATABASE_URL user needs CREATEROLE, or create the role yourself and set its DATABASE_URL_<MODULE>.',
        { cause: error },
      );
    }
  }
  try {
    await admin.raw(`CREATE SCHEMA IF NOT EXISTS ${schema} AUTHORIZATION ${role}`);
    await admin.raw(`REVOKE ALL ON SCHEMA ${schema} FROM PUBLIC`);
  } catch (error) {
    throw new FicusError(
      'FICUS_ERR_DB_PROVISION',
      `could not create schema ${spec.schema} owned by ${spec.role}: ${(error as Error).message}. ` +
        'The DATABASE_URL user needs CREATE on the database and membership in the module role.',
      { cause: error },
    );
  }
}

/** Creates `database` on the server of `adminUrl` unless it exists. */
export async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const admin = createDb(withDatabase(adminUrl, 'postgres'), { poolMax: 1 });
  try {
    const found = await admin.raw('SELECT 1 FROM pg_database WHERE datname = ?', [database]);
    if (found.rowCount === 0) await admin.raw(`CREATE DATABASE ${quoteIdent(database)}`);
  } finally {
    await admin.destroy();
  }
}

/** Drops `database`, ending its sessions first. */
export async function dropDatabase(adminUrl: string, database: string): Promise<void> {
  const admin = createDb(withDatabase(adminUrl, 'postgres'), { poolMax: 1 });
  try {
    await admin.raw(`DROP DATABASE IF EXISTS ${quoteIdent(database)} WITH (FORCE)`);
  } finally {
    await admin.destroy();
  }
}
