import type { Knex } from '../../../platform/src/index.js';
import { connectPair, type DataPair, moduleTables, replicationName, type TableInfo } from './pair.js';

const states: Record<string, string> = { i: 'starting', d: 'copying', f: 'copied', s: 'synchronized', r: 'streaming' };

export interface DataStatus {
  name: string;
  /** `not syncing` when there is no subscription. */
  state: 'not syncing' | 'enabled' | 'disabled';
  workerRunning: boolean;
  /** WAL the service has not confirmed yet, and how far behind its last apply is (0 when caught up). */
  lagBytes: number | null;
  lagSeconds: number | null;
  errors: number;
  tables: Array<{ table: string; state: string; sourceRows: number; targetRows: number }>;
}

const count = async (db: Knex, schema: string, table: string) =>
  Number((await db.raw('SELECT count(*) AS n FROM ??.??', [schema, table])).rows[0].n);

/** Per table: state, rows on each side; overall: the subscription, its worker, its lag and errors. */
export async function dataStatus(pair: DataPair): Promise<DataStatus> {
  const name = replicationName(pair);
  const { source, target, close } = await connectPair(pair);
  try {
    const subscription = (await target.raw('SELECT subenabled FROM pg_subscription WHERE subname = ?', [name])).rows[0];
    const relStates = new Map<string, string>(
      (
        await target.raw(
          `SELECT c.relname AS table, sr.srsubstate AS state FROM pg_subscription_rel sr JOIN pg_subscription s ON s.oid = sr.srsubid
             JOIN pg_class c ON c.oid = sr.srrelid WHERE s.subname = ?`,
          [name],
        )
      ).rows.map((r: { table: string; state: string }) => [r.table, states[r.state] ?? r.state]),
    );
    const tables = await Promise.all(
      (await moduleTables(source, pair.schema)).map(async (t) => ({
        table: t.name,
        state: relStates.get(t.name) ?? 'not replicated',
        sourceRows: await count(source, pair.schema, t.name),
        targetRows: await count(target, pair.schema, t.name).catch(() => -1),
      })),
    );
    const slot = (
      await source.raw(
        'SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint AS bytes FROM pg_replication_slots WHERE slot_name = ?',
        [name],
      )
    ).rows[0];
    // replay_lag is NULL once the subscriber has caught up, so an idle pair shows 0, not a growing age.
    const sender = (
      await source.raw(
        "SELECT extract(epoch FROM coalesce(replay_lag, '0'::interval))::float AS seconds FROM pg_stat_replication WHERE application_name = ?",
        [name],
      )
    ).rows[0];
    const worker = (
      await target.raw('SELECT pid FROM pg_stat_subscription WHERE subname = ? AND pid IS NOT NULL', [name])
    ).rowCount;
    const errors = (
      await target.raw(
        'SELECT sync_error_count + apply_error_count AS n FROM pg_stat_subscription_stats WHERE subname = ?',
        [name],
      )
    ).rows[0];
    return {
      name,
      state: subscription ? (subscription.subenabled ? 'enabled' : 'disabled') : 'not syncing',
      workerRunning: (worker ?? 0) > 0,
      lagBytes: slot ? Number(slot.bytes) : null,
      lagSeconds: sender ? Number(sender.seconds) : null,
      errors: errors ? Number(errors.n) : 0,
      tables,
    };
  } finally {
    await close();
  }
}

interface RangeDifference {
  table: string;
  range: string;
  source: { rows: number; checksum: string };
  target: { rows: number; checksum: string };
}

export interface VerifyReport {
  tables: Array<{ table: string; sourceRows: number; targetRows: number; chunks: number; equal: boolean }>;
  differences: RangeDifference[];
  sequences: Array<{ sequence: string; source: number; target: number; fixed: boolean }>;
  caughtUp: boolean;
}

/**
 * An order-independent digest of the rows in one key range: the sum (numeric, so it cannot
 * overflow) of each row's 64-bit hash over its columns in name order, so column order may differ.
 */
function chunkQuery(schema: string, table: TableInfo, bounded: 'both' | 'from' | 'none') {
  const columns = [...table.columns.keys()].sort().map((c) => `t."${c.replaceAll('"', '""')}"`);
  const key = `t."${table.primaryKey[0]!.replaceAll('"', '""')}"`;
  const where = bounded === 'both' ? `WHERE ${key} >= ? AND ${key} < ?` : bounded === 'from' ? `WHERE ${key} >= ?` : '';
  return `SELECT count(*)::bigint AS rows,
      coalesce(sum(hashtextextended(row(${columns.join(', ')})::text, 0)), 0)::text AS checksum
      FROM "${schema}"."${table.name}" t ${where}`;
}

/** Waits (up to `timeoutMs`) until the service has applied the monolith's WAL up to now. */
async function waitForCatchUp(source: Knex, name: string, timeoutMs: number): Promise<boolean> {
  const now = (await source.raw('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn as string;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const row = (
      await source.raw('SELECT replay_lsn >= ?::pg_lsn AS done FROM pg_stat_replication WHERE application_name = ?', [
        now,
        name,
      ])
    ).rows[0];
    if (row?.done) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

/**
 * Compares the two sides per table and primary-key range (chunks of `chunkRows` by the monolith's
 * key order): row counts and an order-independent checksum, both sides at once. Waits out the
 * current lag first, and re-checks a differing range until the lag deadline before naming it.
 * Sequences (PostgreSQL does not replicate them) are compared, and set on the service with `fixSequences`.
 */
export async function verifyData(
  pair: DataPair,
  options: { chunkRows?: number; fixSequences?: boolean; lagTimeoutMs?: number } = {},
): Promise<VerifyReport> {
  const chunkRows = options.chunkRows ?? 10_000;
  const lagTimeoutMs = options.lagTimeoutMs ?? 10_000;
  const name = replicationName(pair);
  const { source, target, close } = await connectPair(pair);
  try {
    const caughtUp = await waitForCatchUp(source, name, lagTimeoutMs);
    const report: VerifyReport = { tables: [], differences: [], sequences: [], caughtUp };
    for (const table of await moduleTables(source, pair.schema)) {
      const key = table.primaryKey[0];
      // Composite keys: one range, the whole table.
      const bounds: string[] =
        key && table.primaryKey.length === 1
          ? (
              await source.raw(
                `SELECT k::text AS k FROM (SELECT ?? AS k, row_number() OVER (ORDER BY ??) AS n FROM ??.??) x WHERE n % ? = 1 ORDER BY n`,
                [key, key, pair.schema, table.name, chunkRows],
              )
            ).rows.map((r: { k: string }) => r.k)
          : [];
      const ranges: Array<{ label: string; sql: string; args: string[] }> = bounds.length
        ? bounds.map((from, i) => {
            const to = bounds[i + 1];
            return to === undefined
              ? { label: `${key} from ${from}`, sql: chunkQuery(pair.schema, table, 'from'), args: [from] }
              : {
                  label: `${key} from ${from} to ${to}`,
                  sql: chunkQuery(pair.schema, table, 'both'),
                  args: [from, to],
                };
          })
        : [];
      // Rows below the first bound exist only on the service side; the unbounded range catches any table left.
      ranges.unshift(
        bounds.length
          ? {
              label: `${key} below ${bounds[0]}`,
              sql: `${chunkQuery(pair.schema, table, 'none')} WHERE t."${key}" < ?`,
              args: [bounds[0]!],
            }
          : { label: 'the whole table', sql: chunkQuery(pair.schema, table, 'none'), args: [] },
      );
      let sourceRows = 0;
      let targetRows = 0;
      let equal = true;
      for (const range of ranges) {
        const measure = async () =>
          Promise.all([source.raw(range.sql, range.args), target.raw(range.sql, range.args)]).then(([a, b]) => [
            a.rows[0] as { rows: string; checksum: string },
            b.rows[0] as { rows: string; checksum: string },
          ]);
        let [a, b] = await measure();
        const deadline = Date.now() + lagTimeoutMs;
        while ((a!.rows !== b!.rows || a!.checksum !== b!.checksum) && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 200));
          [a, b] = await measure();
        }
        sourceRows += Number(a!.rows);
        targetRows += Number(b!.rows);
        if (a!.rows !== b!.rows || a!.checksum !== b!.checksum) {
          equal = false;
          report.differences.push({
            table: `${pair.schema}.${table.name}`,
            range: range.label,
            source: { rows: Number(a!.rows), checksum: a!.checksum },
            target: { rows: Number(b!.rows), checksum: b!.checksum },
          });
        }
      }
      report.tables.push({
        table: `${pair.schema}.${table.name}`,
        sourceRows,
        targetRows,
        chunks: ranges.length,
        equal,
      });
    }
    const sequences = (
      await source.raw(
        "SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ? AND c.relkind = 'S' AND c.relname NOT LIKE 'knex\\_migrations%'",
        [pair.schema],
      )
    ).rows as Array<{ name: string }>;
    for (const { name: sequence } of sequences) {
      const value = async (db: Knex) =>
        Number((await db.raw('SELECT last_value AS v FROM ??.??', [pair.schema, sequence])).rows[0].v);
      const [mine, theirs] = [await value(source), await value(target)];
      const fixed = Boolean(options.fixSequences) && theirs < mine;
      if (fixed) await target.raw('SELECT setval(?, ?)', [`${pair.schema}.${sequence}`, mine]);
      report.sequences.push({ sequence: `${pair.schema}.${sequence}`, source: mine, target: theirs, fixed });
    }
    return report;
  } finally {
    await close();
  }
}
