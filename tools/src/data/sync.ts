import type { Knex } from '../../../platform/src/index.js';
import { FicusError } from '../../../platform/src/index.js';
import {
  connectPair,
  type DataPair,
  moduleTables,
  redacted,
  replicationName,
  schemaDifferences,
  setupError,
} from './pair.js';

type Say = (line: string) => void;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const subscriptionOf = async (target: Knex, name: string) =>
  (await target.raw('SELECT oid, subenabled FROM pg_subscription WHERE subname = ?', [name])).rows[0] as
    | { oid: number; subenabled: boolean }
    | undefined;

/** Removes the pair's subscription, its slots and its publication; each step skipped when already gone. */
async function removeReplication(source: Knex, target: Knex, name: string): Promise<string[]> {
  const removed: string[] = [];
  const subscription = await subscriptionOf(target, name);
  if (subscription) {
    // Detached from its slot first, so dropping it does not need the publisher.
    await target.raw('ALTER SUBSCRIPTION ?? DISABLE', [name]);
    await target.raw('ALTER SUBSCRIPTION ?? SET (slot_name = NONE)', [name]);
    await target.raw('DROP SUBSCRIPTION ??', [name]);
    removed.push(`subscription ${name}`);
  }
  // The slot, and any left by a table copy the subscription did not finish (pg_<oid>_sync_...).
  const slots = subscription ? [name, `pg_${subscription.oid}_sync_%`] : [name, ''];
  for (let attempt = 0; ; attempt++) {
    const rows = (
      await source.raw(
        'SELECT slot_name, active FROM pg_replication_slots WHERE slot_name = ? OR slot_name LIKE ?',
        slots,
      )
    ).rows as Array<{ slot_name: string; active: boolean }>;
    if (rows.length === 0) break;
    // A walsender takes a moment to exit once its subscription is gone.
    if (rows.some((r) => r.active) && attempt < 40) {
      await sleep(250);
      continue;
    }
    for (const row of rows) {
      await source.raw('SELECT pg_drop_replication_slot(?)', [row.slot_name]);
      removed.push(`slot ${row.slot_name}`);
    }
    break;
  }
  if ((await source.raw('SELECT 1 FROM pg_publication WHERE pubname = ?', [name])).rowCount) {
    await source.raw('DROP PUBLICATION ??', [name]);
    removed.push(`publication ${name}`);
  }
  return removed;
}

/** Waits until every table's initial copy is done, with a line per table and a progress line every 5 s. */
async function waitForCopy(target: Knex, pair: DataPair, name: string, say: Say): Promise<void> {
  const started = Date.now();
  const done = new Set<string>();
  let lastProgress = Date.now();
  for (;;) {
    const rows = (
      await target.raw(
        `SELECT c.relname AS table, sr.srsubstate AS state FROM pg_subscription_rel sr
           JOIN pg_subscription s ON s.oid = sr.srsubid JOIN pg_class c ON c.oid = sr.srrelid WHERE s.subname = ?`,
        [name],
      )
    ).rows as Array<{ table: string; state: string }>;
    for (const row of rows) {
      if ((row.state === 'r' || row.state === 's') && !done.has(row.table)) {
        done.add(row.table);
        const count = (await target.raw('SELECT count(*)::bigint AS n FROM ??.??', [pair.schema, row.table])).rows[0].n;
        say(`  ${pair.schema}.${row.table}: copied ${count} rows (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      }
    }
    if (rows.length > 0 && done.size === rows.length) return;
    const errors = (
      await target.raw(
        'SELECT sync_error_count + apply_error_count AS n FROM pg_stat_subscription_stats WHERE subname = ?',
        [name],
      )
    ).rows[0] as { n: string } | undefined;
    if (errors && Number(errors.n) > 0) {
      throw new FicusError(
        'FICUS_ERR_DATA_SYNC',
        `the initial copy into ${redacted(pair.targetUrl)} failed (see that server's log for the reason)`,
      );
    }
    if (Date.now() - lastProgress > 5000) {
      lastProgress = Date.now();
      say(`  copying: ${done.size} of ${rows.length} tables done (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    }
    await sleep(100);
  }
}

/**
 * Starts logical replication of the module's tables into the service's database: checks the
 * server (wal_level), both schemas (same tables and columns, primary keys), an empty target
 * (or `reset`), then a publication, a slot created on its own (a subscription to its own
 * cluster would wait forever for that), and a subscription that copies, then streams. Already
 * syncing: nothing changes. A failure removes what this call made.
 */
export async function startSync(
  pair: DataPair,
  options: { reset?: boolean; say?: Say } = {},
): Promise<'started' | 'running'> {
  const say = options.say ?? (() => undefined);
  const name = replicationName(pair);
  const { source, target, close } = await connectPair(pair);
  try {
    const wal = (await source.raw('SHOW wal_level')).rows[0].wal_level as string;
    if (wal !== 'logical') {
      throw setupError(
        `the monolith's PostgreSQL has wal_level=${wal}; logical replication needs wal_level=logical: run ` +
          "ALTER SYSTEM SET wal_level = 'logical' and restart it (or start it with -c wal_level=logical)",
      );
    }
    const existing = await subscriptionOf(target, name);
    if (existing) {
      if (!existing.subenabled) await target.raw('ALTER SUBSCRIPTION ?? ENABLE', [name]);
      say(`ficus: ${pair.module}: already replicating (${name})`);
      return 'running';
    }
    const tables = await moduleTables(source, pair.schema);
    if (tables.length === 0)
      throw setupError(`the monolith's schema ${pair.schema} has no tables; run npx ficus db migrate`);
    const keyless = tables.filter((t) => t.primaryKey.length === 0).map((t) => `${pair.schema}.${t.name}`);
    if (keyless.length) {
      throw setupError(
        `${keyless.join(', ')} have no primary key: replication and verify need one per table; add it first`,
      );
    }
    const problems = schemaDifferences(pair.schema, tables, await moduleTables(target, pair.schema));
    if (problems.length) {
      throw setupError(
        `the service's tables do not match the module's:\n${problems.map((p) => `  - ${p}`).join('\n')}\n` +
          "run the service's migrations (npx ficus db migrate) or make them create the same columns",
      );
    }
    const qualified = tables.map((t) => `${pair.schema}.${t.name}`);
    const filled = [];
    for (const table of qualified) {
      if ((await target.raw(`SELECT 1 FROM ${quote(table)} LIMIT 1`)).rowCount) filled.push(table);
    }
    if (filled.length && !options.reset) {
      throw setupError(
        `the service database already has rows in ${filled.join(', ')}; --reset empties them before the copy`,
      );
    }
    if (filled.length) await target.raw(`TRUNCATE ${qualified.map(quote).join(', ')}`);
    try {
      await source.raw(`CREATE PUBLICATION ?? FOR TABLE ${qualified.map(quote).join(', ')}`, [name]);
      await source.raw("SELECT pg_create_logical_replication_slot(?, 'pgoutput')", [name]);
      const conninfo = (pair.publisherConninfo ?? pair.sourceUrl).replaceAll("'", "''");
      // The name is ours ([a-z0-9_]); the statement takes no parameters in its WITH list.
      await target.raw(
        `CREATE SUBSCRIPTION ?? CONNECTION '${conninfo}' PUBLICATION ?? WITH (create_slot = false, slot_name = '${name}', copy_data = true)`,
        [name, name],
      );
      say(`ficus: ${pair.module}: copying ${qualified.join(', ')} into the service database`);
      await waitForCopy(target, pair, name, say);
      return 'started';
    } catch (error) {
      await removeReplication(source, target, name).catch(() => undefined);
      if (error instanceof FicusError) throw error;
      // The driver's message repeats the statement, and with it the connection's password.
      const message = (error as Error).message.replace(/CONNECTION '[^']*'/g, 'CONNECTION (redacted)');
      throw setupError(`setting up replication failed: ${message}; nothing was left behind`);
    }
  } finally {
    await close();
  }
}

const quote = (qualified: string) =>
  qualified
    .split('.')
    .map((part) => `"${part.replaceAll('"', '""')}"`)
    .join('.');

/** Removes the pair's subscription, slot and publication; says what it removed (nothing when not syncing). */
export async function stopSync(pair: DataPair): Promise<string[]> {
  const { source, target, close } = await connectPair(pair);
  try {
    return await removeReplication(source, target, replicationName(pair));
  } finally {
    await close();
  }
}
