import type { Knex, Logger, ModuleDefinition } from '../../platform/src/index.js';
import {
  createDb,
  FicusError,
  migrateSchema,
  migratorConfig,
  moduleDatabaseUrl,
  moduleRoleName,
  provisionModuleSchema,
} from '../../platform/src/index.js';
import type { MonolithConfig } from './config.js';
import { modules } from './modules.js';

type DbConfig = Pick<MonolithConfig, 'DATABASE_URL' | 'DB_ROLE_PREFIX' | 'DB_ROLE_PASSWORD' | 'DB_POOL_MAX'> &
  Partial<Record<`DATABASE_URL_${string}`, string | undefined>>;

/** The module's role and password: from DATABASE_URL_<MODULE> when set, else derived. */
function moduleCredentials(
  config: DbConfig,
  definition: ModuleDefinition,
): { url: string; role: string; password: string } {
  const explicit = config[`DATABASE_URL_${definition.manifest.name.toUpperCase().replaceAll('-', '_')}`];
  if (explicit) {
    const url = new URL(explicit);
    return { url: explicit, role: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
  }
  const role = moduleRoleName(config.DB_ROLE_PREFIX, definition.manifest.schema);
  return {
    url: moduleDatabaseUrl(adminUrl(config), role, config.DB_ROLE_PASSWORD),
    role,
    password: config.DB_ROLE_PASSWORD,
  };
}

function adminUrl(config: DbConfig): string {
  if (!config.DATABASE_URL) {
    throw new FicusError(
      'FICUS_ERR_CONFIG',
      'DATABASE_URL is not set: provisioning and migrations need the admin connection',
    );
  }
  return config.DATABASE_URL;
}

/** The connection URL of a module's own role. */
export function moduleUrl(config: DbConfig, definition: ModuleDefinition): string {
  return moduleCredentials(config, definition).url;
}

/** A knex per module, connected as the module's role with only its schema on the search path. */
export function openModuleDb(
  config: DbConfig,
  definition: ModuleDefinition,
  options: { poolMax?: number; logger?: Logger } = {},
): Knex {
  return createDb(moduleUrl(config, definition), {
    poolMax: options.poolMax ?? config.DB_POOL_MAX,
    ...(options.logger ? { logger: options.logger.child({ module: definition.manifest.name }) } : {}),
    searchPath: [definition.manifest.schema],
    applicationName: `ficus-${definition.manifest.name}`,
  });
}

export interface MigrateOptions {
  /** The modules to choose from: the monolith's composition (`modules`, no retired one) when omitted. */
  modules?: readonly ModuleDefinition[];
  /** Only these modules (by name); all when omitted. */
  only?: readonly string[];
  /** Not these (by name), e.g. modules whose writes a cutover moved to their service. */
  except?: readonly string[];
  logger?: Logger;
}

function selected(options: MigrateOptions): readonly ModuleDefinition[] {
  const except = new Set(options.except);
  return chosen(options.modules ?? modules, options.only).filter((m) => !except.has(m.manifest.name));
}

function chosen(
  modules: readonly ModuleDefinition[],
  only: readonly string[] | undefined,
): readonly ModuleDefinition[] {
  if (!only?.length) return modules;
  const unknown = only.filter((name) => !modules.some((m) => m.manifest.name === name));
  if (unknown.length)
    throw new FicusError(
      'FICUS_ERR_CONFIG',
      `unknown module ${unknown.join(', ')}; modules are ${modules.map((m) => m.manifest.name).join(', ')}`,
    );
  return modules.filter((m) => only.includes(m.manifest.name));
}

async function eachModule(
  config: DbConfig,
  definitions: readonly ModuleDefinition[],
  work: (db: Knex, definition: ModuleDefinition) => Promise<void>,
): Promise<void> {
  for (const definition of definitions) {
    const db = openModuleDb(config, definition, { poolMax: 1 });
    try {
      await work(db, definition);
    } finally {
      await db.destroy();
    }
  }
}

/** Creates each module's role and schema (admin connection), then runs its migrations as that role. */
export async function migrateModules(config: DbConfig, options: MigrateOptions = {}): Promise<void> {
  const admin = createDb(adminUrl(config), { poolMax: 1, applicationName: 'ficus-provision' });
  try {
    for (const definition of selected(options)) {
      const { role, password } = moduleCredentials(config, definition);
      await provisionModuleSchema(admin, { schema: definition.manifest.schema, role, password });
    }
  } finally {
    await admin.destroy();
  }
  await eachModule(config, selected(options), async (db, definition) => {
    const applied = await migrateSchema(db, { schema: definition.manifest.schema, migrations: definition.migrations });
    options.logger?.info(
      { module: definition.manifest.name, applied },
      applied.length ? 'migrated' : 'schema up to date',
    );
  });
}

/** Rolls back every migration of the selected modules, last module first. */
export async function rollbackModules(config: DbConfig, options: MigrateOptions = {}): Promise<void> {
  await eachModule(config, [...selected(options)].reverse(), async (db, definition) => {
    const [, undone] = (await db.migrate.rollback(migratorConfig(definition), true)) as [number, string[]];
    options.logger?.info({ module: definition.manifest.name, undone }, 'rolled back');
  });
}

/** Loads the demo data of every module that has some. Idempotent. */
export async function seedModules(config: DbConfig, options: MigrateOptions = {}): Promise<void> {
  await eachModule(config, selected(options), async (db, definition) => {
    if (!definition.seed) return;
    await definition.seed(db);
    options.logger?.info({ module: definition.manifest.name }, 'seeded');
  });
}
