import { FicusError, type Knex } from '../../../platform/src/index.js';
import { replicationName, quoteIdent } from './names.js';
import { withPair, type DataPair } from './pair.js';

/** Which of a pair's replication objects to remove. */
export interface ReplicationParts {
  subscription: boolean;
  slot: boolean;
  publication: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Drops the subscription without letting DROP SUBSCRIPTION reach for the publisher's slot
 * (disable, then slot_name = NONE): the slot is dropped on the source separately, which works
 * when the source is unreachable from here as well as when both sides share a server.
 * Returns the names of the table-copy slots it may have left on the source.
 */
async function dropSubscription(target: Knex, name: string): Promise<string | undefined> {
  const { rows } = await target.raw<{ rows: { oid: string; sysid: string }[] }>(
    `SELECT s.oid::text, (SELECT system_identifier::text FROM pg_control_system()) AS sysid
       FROM pg_subscription s WHERE s.subname = ? AND s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [name],
  );
  const found = rows[0];
  if (!found) return undefined;
  await target.raw(`ALTER SUBSCRIPTION ${quoteIdent(name)} DISABLE`);
  await target.raw(`ALTER SUBSCRIPTION ${quoteIdent(name)} SET (slot_name = NONE)`);
  await target.raw(`DROP SUBSCRIPTION ${quoteIdent(name)}`);
  // Slots the table-copy workers made on the publisher: pg_<subscription oid>_sync_<table oid>_<system id>.
  return `pg\\_${found.oid}\\_sync\\_%\\_${found.sysid}`;
}

/**
 * Drops a slot, retrying while it is still active: after the subscription is gone, its
 * walsender may take a moment to exit. With `ours` (this call dropped the subscription), a
 * walsender still holding on after 5 s is ended; otherwise an active slot belongs to some other
 * subscriber and is left alone after 5 s, with an error saying who holds it.
 */
async function dropSlot(source: Knex, name: string, ours: boolean): Promise<boolean> {
  const startedAt = Date.now();
  for (let attempt = 0; ; attempt++) {
    const { rows } = await source.raw<{ rows: { active_pid: number | null }[] }>(
      'SELECT active_pid FROM pg_replication_slots WHERE slot_name = ?',
      [name],
    );
    if (rows.length === 0) return attempt > 0;
    const pid = rows[0]!.active_pid;
    if (pid === null) {
      try {
        await source.raw('SELECT pg_drop_replication_slot(?)', [name]);
        return true;
      } catch (error) {
        // 55006: became active again, 42704: someone else dropped it meanwhile.
        const code = (error as { code?: string }).code;
        if (code === '42704') return true;
        if (code !== '55006') throw error;
      }
    } else if (Date.now() - startedAt > 5_000) {
      if (!ours || Date.now() - startedAt > 15_000) {
        throw new FicusError(
          ours ? 'FICUS_ERR_DATA_SYNC' : 'FICUS_ERR_DATA_SETUP',
          `replication slot ${name} on the source is in use by process ${pid}` +
            (ours ? '' : ', and no subscription of this target database feeds from it (another server subscribed?)') +
            `: end that process, then run SELECT pg_drop_replication_slot('${name}') on the source`,
        );
      }
      await source.raw('SELECT pg_terminate_backend(?)', [pid]);
    }
    await sleep(100);
  }
}

/** Removes the chosen objects of replication `name`, subscription first; returns what was there. */
export async function removeReplication(
  source: Knex,
  target: Knex,
  name: string,
  parts: ReplicationParts,
): Promise<string[]> {
  const removed: string[] = [];
  let copySlots: string | undefined;
  if (parts.subscription) {
    copySlots = await dropSubscription(target, name);
    if (copySlots) removed.push(`subscription ${name} on the target`);
  }
  if (parts.slot && (await dropSlot(source, name, copySlots !== undefined)))
    removed.push(`replication slot ${name} on the source`);
  if (copySlots) {
    const { rows } = await source.raw<{ rows: { slot_name: string }[] }>(
      'SELECT slot_name FROM pg_replication_slots WHERE slot_name LIKE ?',
      [copySlots],
    );
    for (const { slot_name } of rows)
      if (await dropSlot(source, slot_name, true)) removed.push(`table-copy slot ${slot_name}`);
  }
  if (parts.publication) {
    const { rowCount } = await source.raw('SELECT 1 FROM pg_publication WHERE pubname = ?', [name]);
    if (rowCount) {
      await source.raw(`DROP PUBLICATION ${quoteIdent(name)}`);
      removed.push(`publication ${name} on the source`);
    }
  }
  return removed;
}

/**
 * Stops replicating the pair: disables and drops the subscription on the target, drops the
 * slot and publication on the source. The target keeps its rows. Idempotent.
 */
export async function stopSync(pair: DataPair): Promise<{ name: string; removed: string[] }> {
  const name = replicationName(pair);
  const say = pair.say ?? (() => undefined);
  const removed = await withPair(pair, ({ source, target }) =>
    removeReplication(source, target, name, { subscription: true, slot: true, publication: true }),
  );
  if (removed.length === 0) say(`${pair.module}: not syncing (no subscription, slot or publication ${name})`);
  for (const line of removed) say(`${pair.module}: dropped ${line}`);
  return { name, removed };
}
