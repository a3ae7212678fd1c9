import type { Knex } from '../../../platform/src/index.js';
import { qualified, quoteIdent } from './names.js';
import type { TableShape } from './tables.js';

/** One primary key value, each column in its text form (key column order). */
export type Key = string[];

/** Count and order-independent checksum of the rows of one key range. */
export interface ChunkSum {
  rows: number;
  checksum: string;
}

/**
 * A connection URL whose sessions print values the same way on every server (a row's text
 * form is what gets hashed): time zone, date and interval styles, float digits, bytea.
 */
export function stableTextUrl(url: string): string {
  const next = new URL(url);
  const settings = '-c TimeZone=UTC -c DateStyle=ISO,YMD -c IntervalStyle=postgres -c extra_float_digits=1';
  next.searchParams.set('options', `${next.searchParams.get('options') ?? ''} ${settings} -c bytea_output=hex`.trim());
  return next.toString();
}

/** The columns a table's rows are hashed over: the source's, by name, so column order on either side does not matter. */
function hashedColumns(table: TableShape): string[] {
  return table.columns.map((c) => c.name).sort();
}

/** A PostgreSQL array literal of text values, each quoted: `{"a","b"}`. */
function arrayLiteral(values: string[]): string {
  return `{${values.map((v) => `"${v.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`).join(',')}}`;
}

const keyTypes = (table: TableShape) => table.primaryKey.map((k) => table.columns.find((c) => c.name === k)!.type);
const rowOf = (columns: string[]) => `ROW(${columns.map((c) => `t.${quoteIdent(c)}`).join(', ')})`;
const rowHash = (columns: string[]) => `md5(${rowOf(columns)}::text)`;
// 60 bits of each row's md5 as a bigint: the sum of a range's rows neither overflows nor depends on their order.
const rangeSum = (columns: string[]) => `sum(('x' || substr(${rowHash(columns)}, 1, 15))::bit(60)::bigint)::text`;

/**
 * Every `chunkRows`-th primary key of the table in key order (the first is the key of row
 * chunkRows + 1): boundaries of ranges of about chunkRows rows each. Computed once, on the source.
 */
export async function chunkBoundaries(db: Knex, schema: string, table: TableShape, chunkRows: number): Promise<Key[]> {
  if (table.primaryKey.length === 0) return [];
  const keys = table.primaryKey.map(quoteIdent);
  const { rows } = await db.raw<{ rows: Record<string, string>[] }>(
    `SELECT ${keys.map((k, i) => `${k}::text AS k${i}`).join(', ')}
       FROM (SELECT ${keys.join(', ')}, row_number() OVER (ORDER BY ${keys.join(', ')}) AS n
               FROM ${qualified(schema, table.name)}) ranked
      WHERE n % ? = 1 AND n > 1 ORDER BY n`,
    [chunkRows],
  );
  return rows.map((row) => table.primaryKey.map((_, i) => row[`k${i}`]!));
}

/**
 * The SQL number of a row's chunk (0 below the first boundary, i from boundary i on) by
 * width_bucket over the boundaries, and its bindings: one scan of the table groups every row,
 * rather than one index range scan per chunk (random heap reads for uuid keys).
 */
function chunkOf(table: TableShape, boundaries: Key[]): { sql: string; bindings: string[] } {
  if (boundaries.length === 0) return { sql: '0', bindings: [] };
  const types = keyTypes(table);
  const columns = table.primaryKey.map((k) => `t.${quoteIdent(k)}`);
  // One array literal per key column: knex would spread a JS array into a list of parameters.
  const bindings = types.map((_, i) => arrayLiteral(boundaries.map((key) => key[i]!)));
  if (types.length === 1) return { sql: `width_bucket(${columns[0]}, ?::${types[0]}[])`, bindings };
  const names = types.map((_, i) => `k${i}`);
  const array =
    `(SELECT array_agg(ROW(${names.map((n) => `u.${n}`).join(', ')}) ORDER BY u.n) ` +
    `FROM unnest(${types.map((type) => `?::${type}[]`).join(', ')}) WITH ORDINALITY AS u(${names.join(', ')}, n))`;
  return { sql: `width_bucket(ROW(${columns.join(', ')}), ${array})`, bindings };
}

/** Count and checksum of every chunk of the table that has rows, by chunk number. */
export async function chunkSums(
  db: Knex,
  schema: string,
  table: TableShape,
  boundaries: Key[],
): Promise<Map<number, ChunkSum>> {
  const chunk = chunkOf(table, boundaries);
  const { rows } = await db.raw<{ rows: { chunk: number; rows: string; checksum: string }[] }>(
    `SELECT ${chunk.sql} AS chunk, count(*) AS rows, ${rangeSum(hashedColumns(table))} AS checksum
       FROM ${qualified(schema, table.name)} AS t GROUP BY 1`,
    chunk.bindings,
  );
  return new Map(rows.map((row) => [row.chunk, { rows: Number(row.rows), checksum: row.checksum }]));
}

/** A WHERE clause for chunk `chunk` (from boundary chunk - 1, up to boundary chunk), by the primary key index. */
function rangeOf(table: TableShape, boundaries: Key[], chunk: number): { sql: string; bindings: string[] } {
  const types = keyTypes(table);
  const key = `ROW(${table.primaryKey.map((k) => `t.${quoteIdent(k)}`).join(', ')})`;
  const value = `ROW(${types.map((type) => `?::${type}`).join(', ')})`;
  const parts: string[] = [];
  const bindings: string[] = [];
  if (chunk > 0) {
    parts.push(`${key} >= ${value}`);
    bindings.push(...boundaries[chunk - 1]!);
  }
  if (chunk < boundaries.length) {
    parts.push(`${key} < ${value}`);
    bindings.push(...boundaries[chunk]!);
  }
  return { sql: parts.length ? parts.join(' AND ') : 'true', bindings };
}

/** Count and checksum of one chunk, read again (after a catch-up, to tell changes in flight from real differences). */
export async function chunkSum(
  db: Knex,
  schema: string,
  table: TableShape,
  boundaries: Key[],
  chunk: number,
): Promise<ChunkSum> {
  const range = rangeOf(table, boundaries, chunk);
  const { rows } = await db.raw<{ rows: { rows: string; checksum: string | null }[] }>(
    `SELECT count(*) AS rows, ${rangeSum(hashedColumns(table))} AS checksum
       FROM ${qualified(schema, table.name)} AS t WHERE ${range.sql}`,
    range.bindings,
  );
  return { rows: Number(rows[0]!.rows), checksum: rows[0]!.checksum ?? '0' };
}

/** Each row's key and hash in one chunk, to name the keys that differ. */
async function rowHashes(
  db: Knex,
  schema: string,
  table: TableShape,
  boundaries: Key[],
  chunk: number,
): Promise<Map<string, { key: Key; hash: string }>> {
  const range = rangeOf(table, boundaries, chunk);
  const keys = table.primaryKey.map((k, i) => `t.${quoteIdent(k)}::text AS k${i}`);
  const { rows } = await db.raw<{ rows: Record<string, string>[] }>(
    `SELECT ${keys.join(', ')}, ${rowHash(hashedColumns(table))} AS hash
       FROM ${qualified(schema, table.name)} AS t WHERE ${range.sql}`,
    range.bindings,
  );
  return new Map(
    rows.map((row) => {
      const key = table.primaryKey.map((_, i) => row[`k${i}`]!);
      return [JSON.stringify(key), { key, hash: row['hash']! }];
    }),
  );
}

/** Names the keys of one differing range, comparing each row's hash on both sides. */
export async function differingKeys(
  source: Knex,
  target: Knex,
  schema: string,
  table: TableShape,
  bounds: Key[],
  chunk: number,
): Promise<{ missingOnTarget: Key[]; onlyOnTarget: Key[]; changed: Key[] }> {
  const [mine, theirs] = await Promise.all([
    rowHashes(source, schema, table, bounds, chunk),
    rowHashes(target, schema, table, bounds, chunk),
  ]);
  const missingOnTarget: Key[] = [];
  const changed: Key[] = [];
  for (const [id, row] of mine) {
    const twin = theirs.get(id);
    if (!twin) missingOnTarget.push(row.key);
    else if (twin.hash !== row.hash) changed.push(row.key);
  }
  const onlyOnTarget = [...theirs].filter(([id]) => !mine.has(id)).map(([, row]) => row.key);
  return { missingOnTarget, onlyOnTarget, changed };
}
