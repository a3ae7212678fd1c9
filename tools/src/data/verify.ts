import { setTimeout as sleep } from 'node:timers/promises';
import { FicusError, type Knex } from '../../../platform/src/index.js';
import {
  type ChunkSum,
  chunkBoundaries,
  chunkSum,
  chunkSums,
  type Key,
  differingKeys,
  stableTextUrl,
} from './checksums.js';
import { waitForCatchUp } from './lag.js';
import { replicationName } from './names.js';
import { type DataPair, withPair } from './pair.js';
import { checkSequences, type SequenceCheck } from './sequences.js';
import { moduleTables, shapeDifferences, type TableShape } from './tables.js';

export interface VerifyOptions {
  /** Rows per checksummed key range. */
  chunkRows?: number;
  /** Set each target sequence that is behind to the source's value (or the target's largest key). */
  fixSequences?: boolean;
  /** How long to wait for the subscription to apply the source's current WAL position. */
  lagTimeoutMs?: number;
}

/** A key range whose rows differ, with the keys that do (up to `keysPerTable` of them per table). */
interface RangeDifference {
  /** First key of the range; null: from the first row. */
  from: Key | null;
  /** The key the range ends before; null: to the last row. */
  to: Key | null;
  source: ChunkSum;
  target: ChunkSum;
  missingOnTarget: Key[];
  onlyOnTarget: Key[];
  changed: Key[];
}

interface TableVerification {
  table: string;
  primaryKey: string[];
  sourceRows: number;
  targetRows: number;
  equal: boolean;
  differences: RangeDifference[];
}

export interface VerifyResult {
  module: string;
  name: string;
  /** Whether a subscription was there to wait for (without one the databases are compared as they are). */
  syncing: boolean;
  equal: boolean;
  tables: TableVerification[];
  sequences: SequenceCheck[];
  seconds: number;
  /** Source rows compared per second. */
  rowsPerSecond: number;
}

const keysPerTable = 20;
/** More differing ranges than this are not a few rows in flight: they are reported without a second look. */
const recheckedRanges = 100;
const zero: ChunkSum = { rows: 0, checksum: '0' };
const same = (a: ChunkSum, b: ChunkSum) => a.rows === b.rows && (a.rows === 0 || a.checksum === b.checksum);

async function verifyTable(
  source: Knex,
  target: Knex,
  schema: string,
  table: TableShape,
  chunkRows: number,
  settle: () => Promise<void>,
): Promise<TableVerification> {
  const bounds = await chunkBoundaries(source, schema, table, chunkRows);
  const [mine, theirs] = await Promise.all([
    chunkSums(source, schema, table, bounds),
    chunkSums(target, schema, table, bounds),
  ]);
  const total = (sums: Map<number, ChunkSum>) => [...sums.values()].reduce((n, s) => n + s.rows, 0);
  let differing = [...new Set([...mine.keys(), ...theirs.keys()])]
    .filter((chunk) => !same(mine.get(chunk) ?? zero, theirs.get(chunk) ?? zero))
    .sort((a, b) => a - b);
  if (differing.length && differing.length <= recheckedRanges) {
    // Rows the monolith changed while the scan ran: caught up, they match when read again.
    await settle();
    const still: number[] = [];
    for (const chunk of differing) {
      const [a, b] = await Promise.all([
        chunkSum(source, schema, table, bounds, chunk),
        chunkSum(target, schema, table, bounds, chunk),
      ]);
      mine.set(chunk, a);
      theirs.set(chunk, b);
      if (!same(a, b)) still.push(chunk);
    }
    differing = still;
  }
  const differences: RangeDifference[] = [];
  let named = 0;
  for (const chunk of differing) {
    const keys =
      named < keysPerTable && table.primaryKey.length
        ? await differingKeys(source, target, schema, table, bounds, chunk)
        : { missingOnTarget: [], onlyOnTarget: [], changed: [] };
    named += keys.missingOnTarget.length + keys.onlyOnTarget.length + keys.changed.length;
    differences.push({
      from: chunk > 0 ? bounds[chunk - 1]! : null,
      to: chunk < bounds.length ? bounds[chunk]! : null,
      source: mine.get(chunk) ?? zero,
      target: theirs.get(chunk) ?? zero,
      ...keys,
    });
  }
  return {
    table: table.name,
    primaryKey: table.primaryKey,
    sourceRows: total(mine),
    targetRows: total(theirs),
    equal: differences.length === 0,
    differences,
  };
}

/**
 * Compares the module's rows in both databases: waits until the subscription has applied the
 * source's current WAL position, then per table compares row counts and checksums of primary
 * key ranges of about `chunkRows` rows (one scan per side, both sides at once), and names the
 * keys of ranges that differ. Also lists the sequences owned by module tables on both sides.
 */
export async function verifyData(pair: DataPair, options: VerifyOptions = {}): Promise<VerifyResult> {
  const startedAt = Date.now();
  const chunkRows = options.chunkRows ?? 10_000;
  const lagTimeoutMs = options.lagTimeoutMs ?? 30_000;
  const say = pair.say ?? (() => undefined);
  const name = replicationName(pair);
  const stable = { ...pair, sourceUrl: stableTextUrl(pair.sourceUrl), targetUrl: stableTextUrl(pair.targetUrl) };
  return withPair(stable, async ({ source, target }) => {
    const pendingTables = () =>
      target.raw<{ rows: { pending: string; copied: string }[] }>(
        `SELECT count(*) FILTER (WHERE sr.srsubstate <> 'r') AS pending,
                count(*) FILTER (WHERE sr.srsubstate = 's') AS copied
           FROM pg_subscription s
           LEFT JOIN pg_subscription_rel sr ON sr.srsubid = s.oid
          WHERE s.subname = ? AND s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())
          GROUP BY s.oid`,
        [name],
      );
    let { rows } = await pendingTables();
    // A table whose copy is done ('s', synchronized) turns ready once the apply worker passes the
    // copy's position: a moment after a sync, so it is waited for, not refused.
    const deadline = Date.now() + lagTimeoutMs;
    while (rows.length > 0 && Number(rows[0]!.pending) > 0 && rows[0]!.pending === rows[0]!.copied) {
      if (Date.now() > deadline) break;
      await sleep(50);
      ({ rows } = await pendingTables());
    }
    const syncing = rows.length > 0;
    if (syncing && Number(rows[0]!.pending) > 0) {
      throw new FicusError(
        'FICUS_ERR_DATA_SYNC',
        `${rows[0]!.pending} tables of ${pair.module} are still in their initial copy: wait for it (ficus data status)`,
      );
    }
    const settle = async () => {
      if (syncing) await waitForCatchUp(source, name, lagTimeoutMs);
    };
    if (syncing)
      say(`${pair.module}: caught up with the source in ${await waitForCatchUp(source, name, lagTimeoutMs)} ms`);
    else say(`${pair.module}: not syncing; comparing the databases as they are`);
    const tables = await moduleTables(source, pair.schema);
    const differences = shapeDifferences(pair.schema, tables, await moduleTables(target, pair.schema));
    if (differences.length) {
      throw new FicusError('FICUS_ERR_DATA_SETUP', `the target's tables do not match:\n  ${differences.join('\n  ')}`);
    }
    const results: TableVerification[] = [];
    for (const table of tables) {
      const result = await verifyTable(source, target, pair.schema, table, Math.max(1, chunkRows), settle);
      say(
        `${pair.schema}.${table.name}: ${result.equal ? 'equal' : `${result.differences.length} ranges differ`} ` +
          `(${result.sourceRows.toLocaleString('en')} rows on the source, ${result.targetRows.toLocaleString('en')} on the target)`,
      );
      results.push(result);
    }
    const sequences = await checkSequences(source, target, pair.schema, { fix: options.fixSequences ?? false });
    const seconds = (Date.now() - startedAt) / 1000;
    const rowsCompared = results.reduce((n, t) => n + t.sourceRows, 0);
    return {
      module: pair.module,
      name,
      syncing,
      equal: results.every((t) => t.equal),
      tables: results,
      sequences,
      seconds,
      rowsPerSecond: seconds > 0 ? Math.round(rowsCompared / seconds) : rowsCompared,
    };
  });
}
