import { createHash } from 'node:crypto';
import type { Knex } from '../../../platform/src/index.js';
import { createDb, databaseName, FicusError } from '../../../platform/src/index.js';

/** One replication: a module's schema in the monolith's database to the same schema in its service's database. */
export interface DataPair {
  module: string;
  schema: string;
  /** Admin URL of the monolith's database (the publisher). */
  sourceUrl: string;
  /** Admin URL of the service's database (the subscriber). */
  targetUrl: string;
  /** How the service's server reaches the monolith's; the source URL by default (one server, or a shared network). */
  publisherConninfo?: string;
}

export const setupError = (message: string, cause?: unknown) =>
  new FicusError('FICUS_ERR_DATA_SETUP', message, cause === undefined ? {} : { cause });

/** A URL fit to print: no password. */
export function redacted(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(not a URL)';
  }
}

/**
 * The publication, slot and subscription of a pair share one name, unique on a server that holds
 * several monolith and service databases (tests, two checkouts): the schema plus a digest of both
 * database names, within PostgreSQL's 63 characters.
 */
export function replicationName(pair: DataPair): string {
  const digest = createHash('sha256')
    .update(`${databaseName(pair.sourceUrl)}>${databaseName(pair.targetUrl)}`)
    .digest('hex')
    .slice(0, 10);
  return `ficus_${pair.schema.slice(0, 40)}_${digest}`;
}

/** Connects to both sides; a side that cannot be reached is a setup error naming its URL. */
export async function connectPair(pair: DataPair): Promise<{ source: Knex; target: Knex; close(): Promise<void> }> {
  const source = createDb(pair.sourceUrl, { poolMax: 3, applicationName: 'ficus-data' });
  const target = createDb(pair.targetUrl, { poolMax: 3, applicationName: 'ficus-data' });
  const close = async () => void (await Promise.all([source.destroy(), target.destroy()]));
  for (const [side, db, url, hint] of [
    [source, source, pair.sourceUrl, 'set DATABASE_URL or --source to the monolith database'],
    [target, target, pair.targetUrl, 'run npx ficus db migrate (it creates the service database), or set --target'],
  ] as const) {
    try {
      await db.raw('select 1');
    } catch (error) {
      await close();
      const which = side === source ? "the monolith's database" : "the service's database";
      throw setupError(`cannot reach ${which} at ${redacted(url)}: ${(error as Error).message}; ${hint}`, error);
    }
  }
  return { source, target, close };
}

export interface TableInfo {
  name: string;
  /** Column name → type, as format_type prints it. */
  columns: Map<string, string>;
  primaryKey: string[];
}

/** The module's tables in `schema` (not knex's migration bookkeeping), with columns and primary key. */
export async function moduleTables(db: Knex, schema: string): Promise<TableInfo[]> {
  const rows = (
    await db.raw(
      `SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type,
              coalesce(a.attnum = ANY (i.indkey), false) AS key, array_position(i.indkey::int2[], a.attnum) AS key_position
         FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
         LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
        WHERE n.nspname = ? AND c.relkind IN ('r', 'p') AND c.relname NOT LIKE 'knex\\_migrations%'
        ORDER BY c.relname, a.attnum`,
      [schema],
    )
  ).rows as Array<{ table: string; column: string; type: string; key: boolean; key_position: number | null }>;
  const tables = new Map<string, TableInfo>();
  for (const row of rows) {
    const table = tables.get(row.table) ?? { name: row.table, columns: new Map(), primaryKey: [] };
    table.columns.set(row.column, row.type);
    // int2vector counts from 0.
    if (row.key) table.primaryKey[row.key_position ?? 0] = row.column;
    tables.set(row.table, table);
  }
  return [...tables.values()].map((t) => ({ ...t, primaryKey: t.primaryKey.filter(Boolean) }));
}

/** Where the service's tables differ from the module's: one line per missing table or differing column. */
export function schemaDifferences(
  schema: string,
  source: readonly TableInfo[],
  target: readonly TableInfo[],
): string[] {
  const lines: string[] = [];
  for (const table of source) {
    const other = target.find((t) => t.name === table.name);
    if (!other) {
      lines.push(`${schema}.${table.name} is missing in the service database`);
      continue;
    }
    for (const [column, type] of table.columns) {
      const theirs = other.columns.get(column);
      if (theirs === undefined)
        lines.push(`${schema}.${table.name}.${column} (${type}) is missing in the service database`);
      else if (theirs !== type)
        lines.push(`${schema}.${table.name}.${column} is ${type} in the monolith, ${theirs} in the service`);
    }
    for (const [column, type] of other.columns) {
      if (!table.columns.has(column))
        lines.push(`${schema}.${table.name}.${column} (${type}) exists only in the service database`);
    }
  }
  return lines;
}
