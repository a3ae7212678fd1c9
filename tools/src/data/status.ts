import type { Knex } from '../../../platform/src/index.js';
import { type Lag, replicationLag } from './lag.js';
import { replicationName } from './names.js';
import { type DataPair, withPair } from './pair.js';
import { countRows, moduleTables } from './tables.js';

/** pg_subscription_rel.srsubstate in words; `not published` for a module table the publication lacks. */
const tableStates: Record<string, string> = {
  i: 'initializing',
  d: 'copying',
  f: 'copied, catching up',
  s: 'synchronized',
  r: 'ready',
};

interface TableStatus {
  table: string;
  state: string;
  sourceRows: number | null;
  targetRows: number | null;
  /** Row counts are the planner's estimates (tables over a million rows). */
  estimated: boolean;
}

export interface DataStatus {
  module: string;
  schema: string;
  name: string;
  /** Which way the rows flow: from the monolith to the service, or back after a cutover. */
  direction: string;
  /** `not syncing`, `disabled`, `copying`, `streaming`, or `stalled` (enabled, but no worker runs). */
  state: string;
  subscription?: {
    enabled: boolean;
    workerRunning: boolean;
    /** Errors since the subscription was created (pg_stat_subscription_stats); the reasons are in the target's log. */
    applyErrors: number;
    syncErrors: number;
  };
  lag?: Lag;
  /** Objects of this pair found without a subscription (an interrupted run): `ficus data stop` removes them. */
  leftovers: string[];
  tables: TableStatus[];
}

async function subscriptionOf(target: Knex, name: string) {
  const { rows } = await target.raw<{
    rows: { enabled: boolean; worker: boolean; apply_errors: string | null; sync_errors: string | null }[];
  }>(
    `SELECT s.subenabled AS enabled,
            EXISTS (SELECT 1 FROM pg_stat_subscription w WHERE w.subid = s.oid AND w.relid IS NULL AND w.pid IS NOT NULL)
              AS worker,
            st.apply_error_count AS apply_errors, st.sync_error_count AS sync_errors
       FROM pg_subscription s LEFT JOIN pg_stat_subscription_stats st ON st.subid = s.oid
      WHERE s.subname = ? AND s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [name],
  );
  const row = rows[0];
  if (!row) return undefined;
  const states = await target.raw<{ rows: { table: string; state: string }[] }>(
    `SELECT c.relname AS "table", sr.srsubstate AS state FROM pg_subscription_rel sr
       JOIN pg_subscription s ON s.oid = sr.srsubid JOIN pg_class c ON c.oid = sr.srrelid WHERE s.subname = ?`,
    [name],
  );
  return {
    enabled: row.enabled,
    workerRunning: row.worker,
    applyErrors: Number(row.apply_errors ?? 0),
    syncErrors: Number(row.sync_errors ?? 0),
    states: new Map(states.rows.map((r) => [r.table, tableStates[r.state] ?? r.state])),
  };
}

async function leftoversOf(source: Knex, name: string): Promise<string[]> {
  const { rows } = await source.raw<{ rows: { what: string }[] }>(
    `SELECT 'publication ' || pubname AS what FROM pg_publication WHERE pubname = ?
     UNION ALL SELECT 'replication slot ' || slot_name FROM pg_replication_slots WHERE slot_name = ?`,
    [name, name],
  );
  return rows.map((r) => r.what);
}

/** Where the pair's replication stands: per table state and rows on both sides, lag, errors. */
export async function dataStatus(pair: DataPair): Promise<DataStatus> {
  const name = replicationName(pair);
  return withPair(pair, async ({ source, target }) => {
    const subscription = await subscriptionOf(target, name);
    const targetTables = new Set((await moduleTables(target, pair.schema)).map((t) => t.name));
    const tables: TableStatus[] = [];
    for (const { name: table } of await moduleTables(source, pair.schema)) {
      const sourceCount = await countRows(source, pair.schema, table);
      const targetCount = targetTables.has(table) ? await countRows(target, pair.schema, table) : undefined;
      tables.push({
        table,
        state: subscription ? (subscription.states.get(table) ?? 'not published') : 'not syncing',
        sourceRows: sourceCount.rows,
        targetRows: targetCount?.rows ?? null,
        estimated: sourceCount.estimated || (targetCount?.estimated ?? false),
      });
    }
    const base = {
      module: pair.module,
      schema: pair.schema,
      name,
      direction: pair.direction ?? 'the monolith to the service',
    };
    if (!subscription) return { ...base, state: 'not syncing', leftovers: await leftoversOf(source, name), tables };
    const { states, ...flags } = subscription;
    const copying = [...states.values()].some((state) => state !== 'ready');
    const state = !flags.enabled ? 'disabled' : !flags.workerRunning ? 'stalled' : copying ? 'copying' : 'streaming';
    const lag = await replicationLag(source, name);
    return { ...base, state, subscription: flags, lag, leftovers: [], tables };
  });
}
