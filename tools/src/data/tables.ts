import type { Knex } from '../../../platform/src/index.js';
import { apiIdempotencyTable } from '../../../platform/src/index.js';
import { qualified } from './names.js';

interface Column {
  name: string;
  /** As `format_type` spells it, e.g. `character(3)`, `timestamp with time zone`. */
  type: string;
  notNull: boolean;
  hasDefault: boolean;
}

export interface TableShape {
  name: string;
  /** In the table's column order. */
  columns: Column[];
  /** Primary key columns in key order; empty when the table has none. */
  primaryKey: string[];
}

/**
 * The module's tables in `schema`, with their columns and primary keys. knex's own
 * bookkeeping (knex_migrations, knex_migrations_lock) belongs to each side's migrations and is
 * never replicated; nor is a service's api_idempotency (its API router's keys, meaningless to
 * the monolith). Partitions are left to their partitioned parent.
 */
export async function moduleTables(db: Knex, schema: string): Promise<TableShape[]> {
  const { rows } = await db.raw<{
    rows: { table: string; column: string; type: string; not_null: boolean; has_default: boolean; pk: number | null }[];
  }>(
    `SELECT c.relname AS "table", a.attname AS "column", format_type(a.atttypid, a.atttypmod) AS type,
            a.attnotnull AS not_null, a.atthasdef OR a.attidentity <> '' AS has_default,
            array_position(i.indkey::int2[], a.attnum) AS pk
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
       LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
      WHERE n.nspname = ? AND c.relkind IN ('r', 'p') AND NOT c.relispartition
        AND left(c.relname, 15) <> 'knex_migrations' AND c.relname <> ?
      ORDER BY c.relname, a.attnum`,
    [schema, apiIdempotencyTable],
  );
  const tables = new Map<string, TableShape & { keyOrder: Map<string, number> }>();
  for (const row of rows) {
    let table = tables.get(row.table);
    if (!table) tables.set(row.table, (table = { name: row.table, columns: [], primaryKey: [], keyOrder: new Map() }));
    table.columns.push({ name: row.column, type: row.type, notNull: row.not_null, hasDefault: row.has_default });
    if (row.pk !== null) table.keyOrder.set(row.column, row.pk);
  }
  return [...tables.values()].map(({ keyOrder, ...table }) => ({
    ...table,
    primaryKey: [...keyOrder].sort((a, b) => a[1] - b[1]).map(([column]) => column),
  }));
}

/**
 * What keeps `target` from receiving `source`'s rows, one line each: a table or column the
 * target lacks, a column whose type differs, or a target-only column that is NOT NULL without
 * a default (replicated inserts would fail on it). Extra nullable columns are allowed.
 */
export function shapeDifferences(schema: string, source: TableShape[], target: TableShape[]): string[] {
  const problems: string[] = [];
  for (const table of source) {
    const other = target.find((t) => t.name === table.name);
    if (!other) {
      problems.push(`table ${schema}.${table.name} is missing on the target`);
      continue;
    }
    for (const column of table.columns) {
      const twin = other.columns.find((c) => c.name === column.name);
      if (!twin) problems.push(`${table.name}.${column.name} (${column.type}) is missing on the target`);
      else if (twin.type !== column.type)
        problems.push(`${table.name}.${column.name} is ${column.type} on the source but ${twin.type} on the target`);
    }
    for (const column of other.columns) {
      if (!table.columns.some((c) => c.name === column.name) && column.notNull && !column.hasDefault)
        problems.push(
          `${table.name}.${column.name} (${column.type}) exists only on the target and is NOT NULL without a default`,
        );
    }
  }
  return problems;
}

/** Rows of a table: exact up to `exactUpTo` (by the planner's estimate), the estimate above that. */
export async function countRows(
  db: Knex,
  schema: string,
  table: string,
  exactUpTo = 1_000_000,
): Promise<{ rows: number; estimated: boolean }> {
  const { rows } = await db.raw<{ rows: { estimate: number }[] }>(
    `SELECT c.reltuples::float8 AS estimate FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = ? AND c.relname = ?`,
    [schema, table],
  );
  const estimate = rows[0]?.estimate ?? -1;
  if (estimate > exactUpTo) return { rows: Math.round(estimate), estimated: true };
  const counted = await db.raw<{ rows: { n: string }[] }>(`SELECT count(*) AS n FROM ${qualified(schema, table)}`);
  return { rows: Number(counted.rows[0]!.n), estimated: false };
}
