import pg from 'pg';
import { FicusError, type Knex } from '../../../platform/src/index.js';
import { qualified, quoteIdent } from './names.js';

const writes = 'INSERT, UPDATE, DELETE, TRUNCATE';

/**
 * The tables a freeze closes: every table of the schema but knex's migration bookkeeping, which
 * each side's own migrations must still take (a frozen copy's process runs them when it starts).
 */
async function freezableTables(admin: Knex, schema: string): Promise<string[]> {
  const { rows } = await admin.raw<{ rows: Array<{ table: string }> }>(
    `SELECT c.relname AS table FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = ? AND c.relkind IN ('r', 'p') AND left(c.relname, 15) <> 'knex_migrations'
      ORDER BY c.relname`,
    [schema],
  );
  return rows.map((r) => r.table);
}

/**
 * Freezes a module's writes for good (the old writer after a cutover, kept as a copy): its role
 * loses the write privileges on the schema's tables, at once for every pooled connection, so any
 * write fails fast (42501, answered as 503 FICUS_ERR_WRITES_FROZEN with Retry-After) while reads
 * go on. Run on an admin connection; the role owns the tables and keeps the right to re-grant,
 * which only `unfreezeWrites` uses.
 */
export async function freezeWrites(admin: Knex, schema: string, role: string): Promise<void> {
  const tables = await freezableTables(admin, schema);
  if (tables.length === 0) return;
  const list = tables.map((table) => qualified(schema, table)).join(', ');
  await admin.raw(`REVOKE ${writes} ON TABLE ${list} FROM ${quoteIdent(role)}`);
}

/** Gives the module role its writes back on every table of the schema (the undo of `freezeWrites`). */
export async function unfreezeWrites(admin: Knex, schema: string, role: string): Promise<void> {
  await admin.raw(`GRANT ${writes} ON ALL TABLES IN SCHEMA ${quoteIdent(schema)} TO ${quoteIdent(role)}`);
}

/** Whether the role can write every table a freeze closes (false while frozen). */
export async function writesAllowed(admin: Knex, schema: string, role: string): Promise<boolean> {
  const tables = await freezableTables(admin, schema);
  if (tables.length === 0) return true;
  const { rows } = await admin.raw<{ rows: Array<{ frozen: string | number }> }>(
    `SELECT count(*) AS frozen FROM unnest(?::text[]) AS t(name)
      WHERE NOT has_table_privilege(?, format('%I.%I', ?::text, t.name), 'INSERT')`,
    [tables, role, schema],
  );
  return Number(rows[0]?.frozen ?? 0) === 0;
}

// The advisory lock of a schema's freeze: ('ficu', hashtext(schema)).
const lockClass = 0x66696375;
const guardFunction = 'ficus_data.refuse_frozen_writes';
const guardTrigger = 'ficus_freeze_guard';

/**
 * Makes a schema freezable for as long as one session holds its lock (`holdFreeze`): a statement
 * trigger on each table a freeze closes refuses a write (42501, like a revoked privilege) while
 * the lock is held by another session, and holds the lock shared until its transaction ends, so
 * the freezer's exclusive lock waits for every write transaction already under way. Replicated changes do not
 * fire it (apply workers run with session_replication_role = replica). Idempotent; triggers are
 * created only where missing, as creating one briefly blocks the table's writes.
 */
export async function installFreezeGuard(admin: Knex, schema: string): Promise<void> {
  await admin.raw('CREATE SCHEMA IF NOT EXISTS ficus_data');
  await admin.raw(`
    CREATE OR REPLACE FUNCTION ${guardFunction}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NOT pg_try_advisory_xact_lock_shared(${lockClass}, hashtext(TG_TABLE_SCHEMA)) THEN
        RAISE EXCEPTION 'writes to %.% are frozen while ficus moves the writer of schema %',
          TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_TABLE_SCHEMA
          USING ERRCODE = 'insufficient_privilege', HINT = 'retry in a second';
      END IF;
      RETURN NULL;
    END $$`);
  const { rows } = await admin.raw<{ rows: Array<{ table: string }> }>(
    `SELECT c.relname AS table FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = ? AND c.relname = ANY(?::text[])
        AND NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = ?)`,
    [schema, await freezableTables(admin, schema), guardTrigger],
  );
  for (const { table } of rows) {
    await admin.raw(
      `CREATE TRIGGER ${guardTrigger} BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${qualified(schema, table)}
         FOR EACH STATEMENT EXECUTE FUNCTION ${guardFunction}()`,
    );
  }
}

/** A freeze that lasts as long as the session holding it: a killed or cut-off holder releases it. */
export interface FreezeHold {
  /** Fails if the session (and so the freeze) was lost. */
  assertHeld(): Promise<void>;
  release(): Promise<void>;
}

/**
 * Freezes the schema's writes (see `installFreezeGuard`) for as long as this holds, on a session
 * of its own: waits at most `waitMs` for the write transactions under way to end, refusing new
 * ones meanwhile. The server ends the session, and with it the freeze, within ~15 s of losing
 * the holder's connection (TCP keepalives), and at once when the holder's process dies.
 */
export async function holdFreeze(url: string, schema: string, options: { waitMs: number }): Promise<FreezeHold> {
  const client = new pg.Client({ connectionString: url, application_name: 'ficus-data-freeze' });
  let lost: Error | undefined;
  client.on('error', (error) => {
    lost = error;
  });
  await client.connect();
  try {
    await client.query(`SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 2; SET tcp_keepalives_count = 5`);
    await client.query(`SET lock_timeout = ${Math.max(1, Math.round(options.waitMs))}`);
    await client.query('SELECT pg_advisory_lock($1, hashtext($2))', [lockClass, schema]);
  } catch (error) {
    await client.end().catch(() => undefined);
    if ((error as { code?: string }).code === '55P03')
      throw new FicusError(
        'FICUS_ERR_DATA_SYNC',
        `writes to schema ${schema} still under way after ${options.waitMs} ms: a long transaction holds the tables; ` +
          'nothing was frozen; find it in pg_stat_activity and try again',
        { cause: error },
      );
    throw error;
  }
  return {
    assertHeld: async () => {
      const held = lost
        ? undefined
        : await client
            .query(
              `SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted
                  AND mode = 'ExclusiveLock' AND classid = $1::int::oid AND objid = hashtext($2)::oid`,
              [lockClass, schema],
            )
            .then((result) => result.rowCount === 1)
            .catch((error: Error) => void (lost = error));
      if (!held)
        throw new FicusError(
          'FICUS_ERR_DATA_SYNC',
          `the freeze of schema ${schema} was lost${lost ? ` (${lost.message})` : ''}: its session ended, so writes ` +
            'were open again; nothing was switched',
        );
    },
    release: async () => {
      await client.end().catch(() => undefined);
    },
  };
}
