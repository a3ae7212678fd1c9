import { z } from 'zod';
import type { Knex } from 'knex';
import { FicusError } from './errors.js';
import { issueLines } from './files.js';

const name = z.string().regex(/^[a-z][a-z0-9-]*$/, 'use lower-case letters, digits and -');

/** module.json: who a module is, which schema it owns, which modules it may call. */
export const moduleManifestSchema = z.strictObject({
  name,
  /** The PostgreSQL schema this module owns; nobody else reads or writes it. */
  schema: z.string().regex(/^[a-z_][a-z0-9_]*$/, 'use lower-case letters, digits and _'),
  /** Modules whose index.ts this module may import. */
  dependsOn: z.array(name).default([]),
  description: z.string().optional(),
  /**
   * Written by `ficus retire`: the module's service owns it now. The monolith no longer
   * migrates, connects to or mounts it; its other modules reach it through its remote API.
   * @example { "at": "2026-12-04T10:00:00.000Z", "service": "catalog" }
   */
  retired: z.strictObject({ at: z.iso.datetime(), service: name }).optional(),
});

export type ModuleManifest = z.output<typeof moduleManifestSchema>;

/** Validates a parsed module.json; errors name the file and field. */
export function parseManifest(json: unknown, file: string): ModuleManifest {
  const result = moduleManifestSchema.safeParse(json);
  if (!result.success)
    throw new FicusError(
      'FICUS_ERR_MODULE_MANIFEST',
      `${file} is not a valid module manifest:\n${issueLines(file, result.error.issues)}`,
    );
  return result.data;
}

/** One knex migration, named so the order is the array order. */
export interface Migration {
  name: string;
  up(db: Knex): Promise<void>;
  down(db: Knex): Promise<void>;
}

/** What the tools need to know of a module to provision, migrate and seed it. */
export interface ModuleDefinition {
  manifest: ModuleManifest;
  migrations: readonly Migration[];
  /** Demo data for `npm start`; must be idempotent. */
  seed?(db: Knex): Promise<void>;
}

/** A knex migration source over an in-code list, so migrations need no file scanning or build step. */
export function migrationSource(migrations: readonly Migration[]): Knex.MigrationSource<Migration> {
  return {
    getMigrations: async () => [...migrations],
    getMigrationName: (migration) => migration.name,
    getMigration: async (migration) => migration,
  };
}

/** The migrator settings of a module or service: its history table lives in its own schema. */
export function migratorConfig(definition: Pick<ModuleDefinition, 'migrations'> & { manifest: { schema: string } }) {
  return {
    migrationSource: migrationSource(definition.migrations),
    schemaName: definition.manifest.schema,
    tableName: 'knex_migrations',
  } satisfies Knex.MigratorConfig;
}

/**
 * Runs the pending migrations of `schema` (created first when missing and the role may),
 * under knex's migration lock, so several instances starting at once migrate once.
 * Resolves with the names of the migrations it applied.
 */
export async function migrateSchema(
  db: Knex,
  spec: { schema: string; migrations: readonly Migration[] },
): Promise<string[]> {
  const exists = await db.raw('SELECT 1 FROM pg_namespace WHERE nspname = ?', [spec.schema]);
  if (exists.rowCount === 0) await db.raw('CREATE SCHEMA ??', [spec.schema]);
  const [, applied] = (await db.migrate.latest(
    migratorConfig({ migrations: spec.migrations, manifest: { schema: spec.schema } }),
  )) as [number, string[]];
  return applied;
}
