import { FicusError, type Knex } from '../../../platform/src/index.js';

export interface Lag {
  /** WAL the subscriber has not confirmed yet: the source's current position minus the slot's confirmed_flush_lsn. */
  bytes: number | null;
  /**
   * How long a change committed on the source takes to be applied (visible) on the target:
   * pg_stat_replication's replay_lag of the subscription's walsender. PostgreSQL measures it
   * from the source's own commit times and clears it once the subscriber has caught up and
   * nothing is written, so an idle pair shows 0, not a growing "time since the last message"
   * (as pg_stat_subscription's last_msg_receipt_time would). null when no walsender serves it.
   */
  seconds: number | null;
}

/** The replication lag of subscription/slot `name`, read on the source. */
export async function replicationLag(source: Knex, name: string): Promise<Lag> {
  const slot = await source.raw<{ rows: { bytes: number | null }[] }>(
    `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::float8 AS bytes
       FROM pg_replication_slots WHERE slot_name = ?`,
    [name],
  );
  const sender = await source.raw<{ rows: { seconds: number | null }[] }>(
    `SELECT extract(epoch FROM replay_lag)::float8 AS seconds
       FROM pg_stat_replication WHERE application_name = ?`,
    [name],
  );
  const bytes = slot.rows[0]?.bytes ?? null;
  return {
    bytes: bytes === null ? null : Math.max(0, bytes),
    seconds: sender.rows.length === 0 ? null : (sender.rows[0]!.seconds ?? 0),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until the subscriber has confirmed the source's current WAL position (taken now), so
 * every change committed before this call is visible on the target. Resolves with the wait in ms.
 */
export async function waitForCatchUp(source: Knex, name: string, timeoutMs: number): Promise<number> {
  const startedAt = Date.now();
  const { rows } = await source.raw<{ rows: { lsn: string }[] }>('SELECT pg_current_wal_lsn()::text AS lsn');
  const lsn = rows[0]!.lsn;
  for (;;) {
    const slot = await source.raw<{ rows: { caught_up: boolean | null; behind: number | null }[] }>(
      `SELECT confirmed_flush_lsn >= ?::pg_lsn AS caught_up, pg_wal_lsn_diff(?::pg_lsn, confirmed_flush_lsn)::float8 AS behind
         FROM pg_replication_slots WHERE slot_name = ?`,
      [lsn, lsn, name],
    );
    const state = slot.rows[0];
    if (!state) {
      throw new FicusError(
        'FICUS_ERR_DATA_SYNC',
        `replication slot ${name} is gone from the source: the pair is not syncing`,
      );
    }
    if (state.caught_up) return Date.now() - startedAt;
    if (Date.now() - startedAt > timeoutMs) {
      throw new FicusError(
        'FICUS_ERR_DATA_SYNC',
        `the subscription has not applied the source's WAL position ${lsn} within ${timeoutMs} ms ` +
          `(${state.behind ?? 'unknown'} bytes behind): check ficus data status and the target server's log`,
      );
    }
    await sleep(20);
  }
}
