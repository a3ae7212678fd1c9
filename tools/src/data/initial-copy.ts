import { FicusError, type Knex } from '../../../platform/src/index.js';
import { countRows } from './tables.js';

/** A table whose initial copy has finished. */
export interface CopiedTable {
  table: string;
  rows: number;
  /** Seconds from the start of the sync until the table was ready. */
  seconds: number;
}

export interface CopyProgressOptions {
  say: (line: string) => void;
  /** A "still copying" line this often. */
  progressEveryMs?: number;
  /** Fail after this long without every table ready; no limit by default. */
  timeoutMs?: number;
  pollMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (since: number) => (Date.now() - since) / 1000;

/** Rows each table-copy worker of the subscription has written so far (its COPY's progress). */
async function rowsCopying(target: Knex, subscription: string): Promise<Map<string, number>> {
  const { rows } = await target.raw<{ rows: { table: string; rows: string }[] }>(
    `SELECT c.relname AS "table", p.tuples_processed AS rows
       FROM pg_stat_progress_copy p
       JOIN pg_class c ON c.oid = p.relid
       JOIN pg_subscription_rel sr ON sr.srrelid = p.relid
       JOIN pg_subscription s ON s.oid = sr.srsubid
      WHERE s.subname = ? AND p.datid = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [subscription],
  );
  return new Map(rows.map((row) => [row.table, Number(row.rows)]));
}

/**
 * Waits for the subscription's initial copy: one line per table as it reaches the synchronized
 * or ready state (with its rows and the time since `startedAt`), and a line with the rows
 * copied so far every `progressEveryMs` while tables are still copying. A failing table copy
 * (counted in pg_stat_subscription_stats; PostgreSQL would retry it forever) is an error.
 */
export async function waitForInitialCopy(
  target: Knex,
  subscription: string,
  schema: string,
  startedAt: number,
  options: CopyProgressOptions,
): Promise<CopiedTable[]> {
  const progressEveryMs = options.progressEveryMs ?? 5_000;
  const pollMs = options.pollMs ?? 100;
  const copied: CopiedTable[] = [];
  let lastProgress = Date.now();
  for (;;) {
    const { rows } = await target.raw<{ rows: { table: string; state: string }[] }>(
      `SELECT c.relname AS "table", sr.srsubstate AS state
         FROM pg_subscription_rel sr
         JOIN pg_subscription s ON s.oid = sr.srsubid
         JOIN pg_class c ON c.oid = sr.srrelid
        WHERE s.subname = ? ORDER BY c.relname`,
      [subscription],
    );
    for (const { table, state } of rows) {
      if ((state === 'r' || state === 's') && !copied.some((c) => c.table === table)) {
        const { rows: count } = await countRows(target, schema, table);
        copied.push({ table, rows: count, seconds: seconds(startedAt) });
        options.say(
          `copied ${schema}.${table}: ${count.toLocaleString('en')} rows in ${seconds(startedAt).toFixed(1)} s`,
        );
      }
    }
    const pending = rows.filter((row) => !copied.some((c) => c.table === row.table));
    if (pending.length === 0) return copied;
    const errors = await target.raw<{ rows: { sync_error_count: string }[] }>(
      'SELECT sync_error_count FROM pg_stat_subscription_stats WHERE subname = ?',
      [subscription],
    );
    if (Number(errors.rows[0]?.sync_error_count ?? 0) > 0) {
      throw new FicusError(
        'FICUS_ERR_DATA_SYNC',
        `the initial copy of ${pending.map((p) => `${schema}.${p.table}`).join(', ')} failed on the target ` +
          '(the reason, e.g. a duplicate key or a constraint the target has and the source does not, is in the ' +
          "target server's log); fix it, then run ficus data sync --reset",
      );
    }
    if (options.timeoutMs !== undefined && Date.now() - startedAt > options.timeoutMs) {
      throw new FicusError(
        'FICUS_ERR_DATA_SYNC',
        `the initial copy of ${pending.map((p) => `${schema}.${p.table}`).join(', ')} did not finish within ` +
          `${options.timeoutMs} ms`,
      );
    }
    if (Date.now() - lastProgress >= progressEveryMs) {
      lastProgress = Date.now();
      const progress = await rowsCopying(target, subscription);
      const parts = pending.map(
        (p) =>
          `${p.table} ${progress.has(p.table) ? `${progress.get(p.table)!.toLocaleString('en')} rows` : 'waiting'}`,
      );
      options.say(`copying ${schema}: ${parts.join(', ')} (${seconds(startedAt).toFixed(1)} s)`);
    }
    await sleep(pollMs);
  }
}
