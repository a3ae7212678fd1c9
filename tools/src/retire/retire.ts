import { existsSync, readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import {
  apiFlagOf,
  FicusError,
  type Knex,
  moduleRoleName,
  parseManifest,
  stageOf,
} from '../../../platform/src/index.js';
import { loadRouteTable } from '../../../router/src/route-table/load.js';
import { writesAllowed } from '../data/freeze.js';
import { quoteIdent, replicationName } from '../data/names.js';
import { type DataPair, withPair } from '../data/pair.js';
import { removeReplication } from '../data/stop.js';
import { flagSwitch } from '../data/writer-switch.js';
import { auditFileOf, readAudit } from '../flags/audit.js';
import type { FlagStore } from '../flags/flag-store.js';
import { discoverServices, type FoundService } from '../services/manifest.js';
import { retireRoutes } from './route-table.js';

type Env = Record<string, string | undefined>;

export interface RetireOptions {
  /** The repository root: monolith/src/modules/<module>/ and services/ are found from it. */
  root: string;
  /** The monolith database and the service's (ficus data's pair of the module). */
  pair: DataPair;
  routesFile: string;
  flagsFile: string;
  audit?: string | undefined;
  store: FlagStore;
  env: Env;
  /** How long the service must have served every route of the module (from the audit log); 0: no wait. */
  servedForMs: number;
  /** Keep the monolith's copy of the module's schema instead of dropping it. */
  keepSchema: boolean;
  now?: number;
}

/** What `retire` will do, shown before the confirmation. */
export interface RetirePlan {
  module: string;
  service: FoundService;
  manifestFile: string;
  /** Route ids to mark `stage: retired` (those already retired are left). */
  routes: string[];
  /** When the last of the module's flags changed (the audit log), if known. */
  servedSince: string | undefined;
  /** The replication from the service back to the monolith, if it still runs. */
  replication: string | undefined;
  dropSchema: boolean;
}

const refuse = (message: string) => new FicusError('FICUS_ERR_RETIRE', message);

function ago(ms: number): string {
  const hours = ms / 3_600_000;
  return hours >= 48
    ? `${Math.floor(hours / 24)} days`
    : hours >= 1
      ? `${Math.floor(hours)} h`
      : `${Math.floor(ms / 60_000)} min`;
}

/**
 * Checks that the module can go: it has a service that takes its writes (a finished cutover),
 * every route of that service is at stage service, and has been for `servedForMs`; says what
 * retiring will change. Throws FICUS_ERR_RETIRE with what to do first otherwise.
 */
export async function planRetire(options: RetireOptions): Promise<RetirePlan> {
  const { module } = options.pair;
  const manifestFile = join('monolith', 'src', 'modules', module, 'module.json');
  if (!existsSync(join(options.root, manifestFile)))
    throw refuse(`no module ${module} in the monolith (${manifestFile} is missing)`);
  const manifest = parseManifest(JSON.parse(readFileSync(join(options.root, manifestFile), 'utf8')), manifestFile);
  if (manifest.retired)
    throw refuse(`${module} was retired on ${manifest.retired.at} (${manifestFile}): nothing to do`);
  const service = discoverServices(options.root).find((s) => s.module === module);
  if (!service)
    throw refuse(`no service under services/ is extracted from ${module}: there is nothing to retire it into`);
  const table = loadRouteTable(options.routesFile, options.env);
  const routes = table.routes.filter((r) => r.service === service.name);
  if (routes.length === 0) throw refuse(`no route in ${options.routesFile} goes to ${service.name}`);
  const writesMoved = await flagSwitch({
    store: options.store,
    routesFile: options.routesFile,
    flagsFile: options.flagsFile,
    env: options.env,
    module,
    service: service.name,
    toService: true,
  }).flipped();
  if (!writesMoved)
    throw refuse(`${module}'s writes are still on the monolith: move them first (npx ficus data cutover ${module})`);
  const pending = routes.filter((r) => r.stage !== 'retired');
  const notServed: string[] = [];
  for (const route of pending)
    if (stageOf(await options.store.get(route.flag)).stage !== 'service') notServed.push(route.id);
  if (notServed.length)
    throw refuse(
      `${notServed.join(', ')} ${notServed.length > 1 ? 'are' : 'is'} not at stage service: ` +
        notServed.map((id) => `npx ficus flags set ${id} --stage service`).join('; ') +
        ', and let it serve a while',
    );
  const flags = new Set([...pending.map((r) => r.flag), apiFlagOf(module)]);
  const audit = await readAudit(auditFileOf(options.flagsFile, options.audit));
  const servedSince = audit.entries
    .filter((e) => flags.has(e.flag))
    .map((e) => e.at)
    .sort()
    .at(-1);
  if (options.servedForMs > 0) {
    const now = options.now ?? Date.now();
    if (!servedSince)
      throw refuse(
        `${audit.file} has no change of ${[...flags].join(', ')}: cannot tell how long ${service.name} has served ` +
          `${module}; pass --served-for 0 to retire it anyway`,
      );
    const served = now - Date.parse(servedSince);
    if (served < options.servedForMs)
      throw refuse(
        `the service ${service.name} has served every route of ${module} for ${ago(served)} (since ${servedSince}), less than ` +
          `--served-for ${ago(options.servedForMs)}: keep the way back open a while, or pass --served-for 0`,
      );
  }
  const role = moduleRoleName(options.env['DB_ROLE_PREFIX'] ?? 'ficus_', options.pair.schema);
  const back = { ...options.pair, sourceUrl: options.pair.targetUrl, targetUrl: options.pair.sourceUrl };
  const replication = await withPair(options.pair, async ({ source }) => {
    if (await writesAllowed(source, options.pair.schema, role))
      throw refuse(
        `the monolith's ${options.pair.schema} tables still take writes: finish the cutover first ` +
          `(npx ficus data cutover ${module} picks up an interrupted one)`,
      );
    if (!options.keepSchema) {
      const outside = await dependentsOutside(source, options.pair.schema);
      if (outside.length)
        throw refuse(
          `${outside.join(', ')} depend${outside.length > 1 ? '' : 's'} on the monolith's ${options.pair.schema} ` +
            'tables, and dropping the schema would drop that with it: remove the dependency first (a module may not ' +
            "reference another's tables), or pass --keep-schema",
        );
    }
    const { rowCount } = await source.raw('SELECT 1 FROM pg_subscription WHERE subname = ?', [replicationName(back)]);
    return rowCount ? replicationName(back) : undefined;
  });
  return {
    module,
    service,
    manifestFile,
    routes: pending.map((r) => r.id),
    servedSince,
    replication,
    dropSchema: !options.keepSchema,
  };
}

/**
 * What outside the schema DROP SCHEMA … CASCADE would take with it: foreign keys and views of
 * other schemas that reference its tables.
 */
async function dependentsOutside(db: Knex, schema: string): Promise<string[]> {
  const { rows } = await db.raw<{ rows: Array<{ what: string }> }>(
    `SELECT DISTINCT format('foreign key %s of %I.%I', con.conname, dn.nspname, dc.relname) AS what
       FROM pg_constraint con
       JOIN pg_class dc ON dc.oid = con.conrelid JOIN pg_namespace dn ON dn.oid = dc.relnamespace
       JOIN pg_class rc ON rc.oid = con.confrelid JOIN pg_namespace rn ON rn.oid = rc.relnamespace
      WHERE con.contype = 'f' AND rn.nspname = ? AND dn.nspname <> ?
     UNION
     SELECT DISTINCT format('view %I.%I', vn.nspname, v.relname)
       FROM pg_depend d
       JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_class v ON v.oid = r.ev_class
       JOIN pg_namespace vn ON vn.oid = v.relnamespace
       JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = t.relnamespace
      WHERE d.classid = 'pg_rewrite'::regclass AND tn.nspname = ? AND vn.nspname <> ?
      ORDER BY 1`,
    [schema, schema, schema, schema],
  );
  return rows.map((r) => r.what);
}

/** The plan in words, for the confirmation. */
export function describeRetire(plan: RetirePlan, options: Pick<RetireOptions, 'routesFile'>): string[] {
  return [
    `Retiring ${plan.module}: the service ${plan.service.name} keeps serving it, and there is no way back to the monolith.`,
    ...(plan.routes.length ? [`  ${options.routesFile}: ${plan.routes.join(', ')} → stage retired (no fallback)`] : []),
    `  ${plan.manifestFile}: "retired" (the monolith no longer migrates, connects to or mounts ${plan.module}; ` +
      'its other modules call the service)',
    plan.replication
      ? `  the replication from ${plan.service.name} back to the monolith (${plan.replication}) is removed`
      : '  no replication back to the monolith runs any more',
    plan.dropSchema
      ? `  the monolith's schema ${plan.module} is DROPPED with its rows (--keep-schema keeps it)`
      : `  the monolith's schema ${plan.module} is kept (--keep-schema)`,
  ];
}

async function writeAtomically(file: string, text: string): Promise<void> {
  const temporary = join(dirname(file), `.${basename(file)}.retire.tmp`);
  await writeFile(temporary, text);
  await rename(temporary, file);
}

/** Carries out a plan, each step logged with its duration; the files first, the databases last. */
export async function runRetire(plan: RetirePlan, options: RetireOptions, say: (line: string) => void): Promise<void> {
  const step = async (what: string, run: () => Promise<void>) => {
    const started = performance.now();
    await run();
    say(`${plan.module}: ${what}: done in ${Math.round(performance.now() - started)} ms`);
  };
  await step(`routes ${plan.routes.join(', ') || '(none left)'} retired in ${options.routesFile}`, async () => {
    const edit = retireRoutes(
      readFileSync(options.routesFile, 'utf8'),
      options.routesFile,
      plan.service.name,
      options.env,
    );
    if (edit.changes.length) await writeAtomically(options.routesFile, edit.text);
  });
  await step(`${plan.manifestFile} marks it retired`, async () => {
    const file = join(options.root, plan.manifestFile);
    const manifest = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    manifest['retired'] = { at: new Date(options.now ?? Date.now()).toISOString(), service: plan.service.name };
    await writeAtomically(file, `${JSON.stringify(manifest, null, 2)}\n`);
  });
  await withPair(options.pair, async ({ source, target }) => {
    if (plan.replication)
      await step('the replication back to the monolith removed', async () => {
        await removeReplication(target, source, plan.replication!, {
          subscription: true,
          slot: true,
          publication: true,
        });
      });
    if (plan.dropSchema)
      await step(`the monolith's schema ${options.pair.schema} dropped`, async () => {
        await source.raw(`DROP SCHEMA IF EXISTS ${quoteIdent(options.pair.schema)} CASCADE`);
      });
  });
}
