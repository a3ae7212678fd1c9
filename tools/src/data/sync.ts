import { FicusError, type Knex, quoteLiteral } from '../../../platform/src/index.js';
import { type CopiedTable, waitForInitialCopy } from './initial-copy.js';
import { qualified, quoteIdent, replicationName } from './names.js';
import { connect, type DataPair } from './pair.js';
import { removeReplication, type ReplicationParts } from './stop.js';
import { moduleTables, shapeDifferences, type TableShape } from './tables.js';

export interface SyncOptions {
  /** Empty the target's tables first (TRUNCATE); without it, a target holding rows is refused. */
  reset?: boolean;
  /** Give up on the initial copy after this long (everything made is removed again); no limit by default. */
  copyTimeoutMs?: number;
  /** How often a "still copying" line is printed. */
  progressEveryMs?: number;
  /**
   * Copy the existing rows first (default true). False when both sides already hold the same
   * rows (the reverse replication of a cutover): only changes from now on are sent, and the
   * target may hold rows.
   */
  copyData?: boolean;
}

export interface SyncResult {
  /** The publication's, slot's and subscription's name. */
  name: string;
  /** True when the subscription was already there and running: nothing was changed. */
  alreadySyncing: boolean;
  tables: CopiedTable[];
  seconds: number;
}

const setup = (message: string) => new FicusError('FICUS_ERR_DATA_SETUP', message);

async function requireLogicalWal(source: Knex): Promise<void> {
  const { rows } = await source.raw<{ rows: { wal_level: string }[] }>('SHOW wal_level');
  const level = rows[0]?.wal_level;
  if (level !== 'logical') {
    throw setup(
      `the source server has wal_level = ${level}, logical replication needs wal_level = logical: run ` +
        'ALTER SYSTEM SET wal_level = logical; there and restart PostgreSQL (or start it with -c wal_level=logical; ' +
        'managed services call it logical decoding or rds.logical_replication)',
    );
  }
}

/** The module's tables, checked against the target: same columns and types, a primary key each. */
async function replicableTables(source: Knex, target: Knex, pair: DataPair): Promise<TableShape[]> {
  const tables = await moduleTables(source, pair.schema);
  if (tables.length === 0) {
    throw setup(
      `schema ${pair.schema} has no tables on the source: is module ${pair.module} migrated there (ficus db migrate), ` +
        'and is --schema right?',
    );
  }
  const differences = shapeDifferences(pair.schema, tables, await moduleTables(target, pair.schema));
  if (differences.length) {
    throw setup(
      `the target's tables do not match the source's:\n  ${differences.join('\n  ')}\n` +
        "run the service's migrations on the target (ficus db migrate in the service) so both have the same columns",
    );
  }
  const keyless = tables.filter((t) => t.primaryKey.length === 0);
  if (keyless.length) {
    throw setup(
      `${keyless.map((t) => `${pair.schema}.${t.name}`).join(', ')} ha${keyless.length > 1 ? 've' : 's'} no ` +
        'primary key: replicated updates and deletes, and verification by key range, need one; add it in a migration',
    );
  }
  return tables;
}

/** Empties the target's tables when asked to, else refuses to copy into tables holding rows. */
async function emptyTarget(target: Knex, pair: DataPair, tables: TableShape[], reset: boolean): Promise<void> {
  const names = tables.map((t) => qualified(pair.schema, t.name));
  const filled: string[] = [];
  for (const [i, table] of tables.entries()) {
    const { rowCount } = await target.raw(`SELECT 1 FROM ${names[i]} LIMIT 1`);
    if (rowCount) filled.push(`${pair.schema}.${table.name}`);
  }
  if (filled.length === 0) return;
  if (reset) {
    await target.raw(`TRUNCATE ${names.join(', ')}`);
    pair.say?.(`emptied ${filled.join(', ')} on the target (--reset)`);
    return;
  }
  throw setup(
    `the target already has rows in ${filled.join(', ')}; the initial copy needs empty tables: ` +
      'pass --reset to empty them (their rows are lost), or point --target at another database',
  );
}

/**
 * Starts replicating the module's schema from the monolith database to the service's, by
 * PostgreSQL logical replication, and waits for the initial copy. Checks first (wal_level,
 * both databases reachable, same tables and columns, primary keys, an empty target); if any
 * later step fails, whatever this call created is removed again before the error is thrown.
 * Idempotent: a pair already syncing is reported and left alone.
 */
/** The server's version as PostgreSQL numbers it (server_version_num), e.g. 180004. */
export async function serverVersion(db: Knex): Promise<number> {
  const { rows } = await db.raw<{ rows: { n: string }[] }>("SELECT current_setting('server_version_num') AS n");
  return Number(rows[0]?.n);
}

/** Whether this database has subscription `name`, and whether it runs. */
export async function subscriptionState(target: Knex, name: string): Promise<'enabled' | 'disabled' | 'none'> {
  const { rows } = await target.raw<{ rows: { subenabled: boolean }[] }>(
    `SELECT subenabled FROM pg_subscription
      WHERE subname = ? AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [name],
  );
  return rows[0] === undefined ? 'none' : rows[0].subenabled ? 'enabled' : 'disabled';
}

export async function startSync(pair: DataPair, options: SyncOptions = {}): Promise<SyncResult> {
  const startedAt = Date.now();
  const say = pair.say ?? (() => undefined);
  const name = replicationName(pair);
  const source = await connect('source', pair.sourceUrl);
  let target: Knex | undefined;
  try {
    await requireLogicalWal(source);
    target = await connect('target', pair.targetUrl);
    const existing = await subscriptionState(target, name);
    if (existing === 'enabled') {
      say(`${pair.module}: already syncing (subscription ${name}); nothing changed`);
      return { name, alreadySyncing: true, tables: [], seconds: (Date.now() - startedAt) / 1000 };
    }
    if (existing === 'disabled') {
      await target.raw(`ALTER SUBSCRIPTION ${quoteIdent(name)} ENABLE`);
      say(`${pair.module}: subscription ${name} was disabled; enabled it again`);
      const tables = await waitForInitialCopy(target, name, pair.schema, startedAt, { say, ...copyOptions(options) });
      return { name, alreadySyncing: true, tables, seconds: (Date.now() - startedAt) / 1000 };
    }
    const leftovers = await removeReplication(source, target, name, {
      subscription: false,
      slot: true,
      publication: true,
    });
    for (const line of leftovers) say(`${pair.module}: removed ${line}, left over from an earlier run`);
    const tables = await replicableTables(source, target, pair);
    if (options.copyData !== false) await emptyTarget(target, pair, tables, options.reset ?? false);
    const tablesCopied = await create(source, target, pair, name, tables, startedAt, options);
    const seconds = (Date.now() - startedAt) / 1000;
    say(
      `${pair.module}: syncing ${tables.length} tables from ${pair.direction ?? 'the monolith to the service'} (${seconds.toFixed(1)} s)`,
    );
    return { name, alreadySyncing: false, tables: tablesCopied, seconds };
  } finally {
    await Promise.all([source.destroy(), target?.destroy()]);
  }
}

function copyOptions(options: SyncOptions) {
  return {
    ...(options.copyTimeoutMs === undefined ? {} : { timeoutMs: options.copyTimeoutMs }),
    ...(options.progressEveryMs === undefined ? {} : { progressEveryMs: options.progressEveryMs }),
  };
}

/** Publication, slot and subscription, then the initial copy; on any failure, removes what it made. */
async function create(
  source: Knex,
  target: Knex,
  pair: DataPair,
  name: string,
  tables: TableShape[],
  startedAt: number,
  options: SyncOptions,
): Promise<CopiedTable[]> {
  const say = pair.say ?? (() => undefined);
  const made: ReplicationParts = { publication: false, slot: false, subscription: false };
  try {
    const list = tables.map((t) => qualified(pair.schema, t.name)).join(', ');
    await source.raw(`CREATE PUBLICATION ${quoteIdent(name)} FOR TABLE ${list}`);
    made.publication = true;
    // Made here rather than by CREATE SUBSCRIPTION: with both databases on one server, a
    // subscription creating its slot waits for its own transaction to end, forever
    // (https://www.postgresql.org/docs/current/sql-createsubscription.html#SQL-CREATESUBSCRIPTION-NOTES).
    await source.raw(`SELECT pg_create_logical_replication_slot(?, 'pgoutput')`, [name]);
    made.slot = true;
    const conninfo = pair.publisherConninfo ?? pair.sourceUrl;
    // The replication back of a cutover (no copy), PostgreSQL 16+: a replica kept frozen (the old
    // writer) refuses writes to its tables' owner, so the apply worker runs as the subscription's;
    // and while replication runs both ways, each side sends only its own changes (origin = none),
    // or a change would come back to where it was made and stop the apply worker on its own key.
    const asOwner =
      options.copyData === false && (await serverVersion(target)) >= 160000
        ? ', run_as_owner = true, origin = none'
        : '';
    await target
      .raw(
        `CREATE SUBSCRIPTION ${quoteIdent(name)} CONNECTION ${quoteLiteral(conninfo)} PUBLICATION ${quoteIdent(name)}
           WITH (create_slot = false, slot_name = ${quoteLiteral(name)}, copy_data = ${options.copyData !== false}${asOwner})`,
      )
      .catch((error: Error) => {
        if (!/could not connect to the publisher/.test(error.message)) throw error;
        throw setup(
          `the target's server cannot reach the source (${error.message.replaceAll(conninfo, '…')}): when the ` +
            'databases are on different servers, pass --publisher-conninfo with the host, port and credentials ' +
            "the target's server can use",
        );
      });
    made.subscription = true;
    const copying = options.copyData !== false;
    say(
      `${pair.module}: publication, slot and subscription ${name} created; ` +
        (copying ? `copying ${tables.length} tables` : 'nothing to copy (both sides hold the same rows)'),
    );
    // Without a copy the tables are ready at once: no line per table.
    const tableSay = copying ? say : () => undefined;
    return await waitForInitialCopy(target, name, pair.schema, startedAt, { say: tableSay, ...copyOptions(options) });
  } catch (error) {
    await removeReplication(source, target, name, made).catch((cleanup: unknown) =>
      say(`${pair.module}: could not remove everything after the failure: ${(cleanup as Error).message}`),
    );
    throw error;
  }
}
