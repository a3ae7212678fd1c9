import type { Knex } from '../../../platform/src/index.js';
import { quoteIdent } from './names.js';

const writes = 'INSERT, UPDATE, DELETE, TRUNCATE';

/**
 * Freezes a module's writes in the monolith: its role loses the write privileges on every table
 * of its schema, at once for every pooled connection, so any write in the window fails fast
 * (42501, answered as 503 FICUS_ERR_WRITES_FROZEN with Retry-After) while reads go on. Run on an
 * admin connection; the role owns the tables and keeps the right to re-grant, which only
 * `unfreezeWrites` uses.
 */
export async function freezeWrites(admin: Knex, schema: string, role: string): Promise<void> {
  await admin.raw(`REVOKE ${writes} ON ALL TABLES IN SCHEMA ${quoteIdent(schema)} FROM ${quoteIdent(role)}`);
}

/** Gives the module role its writes back (the undo of `freezeWrites`). */
export async function unfreezeWrites(admin: Knex, schema: string, role: string): Promise<void> {
  await admin.raw(`GRANT ${writes} ON ALL TABLES IN SCHEMA ${quoteIdent(schema)} TO ${quoteIdent(role)}`);
}

/** Whether the role can write every table of the schema (false while frozen). */
export async function writesAllowed(admin: Knex, schema: string, role: string): Promise<boolean> {
  const { rows } = await admin.raw<{ rows: Array<{ frozen: string | number }> }>(
    `SELECT count(*) AS frozen FROM pg_tables
      WHERE schemaname = ? AND NOT has_table_privilege(?, format('%I.%I', schemaname, tablename), 'INSERT')`,
    [schema, role],
  );
  return Number(rows[0]?.frozen ?? 0) === 0;
}
