import type { Knex } from '../../../platform/src/index.js';
import { qualified, quoteIdent } from './names.js';

/**
 * A sequence owned by a module table's column (serial or identity). Logical replication copies
 * rows, not sequence values: the target's sequences stay where they were, and a service that
 * starts writing would hand out keys the monolith already used.
 */
export interface SequenceCheck {
  table: string;
  column: string;
  /** The sequence on the source (the target's owning sequence may be named differently). */
  sequence: string;
  /** last_value on each side; null when never used. */
  source: string | null;
  target: string | null;
  /** Whether the target has a sequence owned by the same table column. */
  onTarget: boolean;
  /** The target's next value could collide: below the source's, or below the largest key in the target's table. */
  behind: boolean;
  /** Set with fixSequences: the value the target's sequence was set to. */
  fixedTo?: string;
}

interface OwnedSequence {
  table: string;
  column: string;
  sequence: string;
  last_value: string | null;
}

async function ownedSequences(db: Knex, schema: string): Promise<OwnedSequence[]> {
  const { rows } = await db.raw<{ rows: OwnedSequence[] }>(
    `SELECT t.relname AS "table", a.attname AS "column", s.relname AS sequence, ps.last_value::text AS last_value
       FROM pg_class s
       JOIN pg_namespace sn ON sn.oid = s.relnamespace
       JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid
                       AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
       JOIN pg_class t ON t.oid = d.refobjid
       JOIN pg_namespace tn ON tn.oid = t.relnamespace
       JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
       LEFT JOIN pg_sequences ps ON ps.schemaname = sn.nspname AND ps.sequencename = s.relname
      WHERE s.relkind = 'S' AND tn.nspname = ? AND left(t.relname, 15) <> 'knex_migrations'
      ORDER BY t.relname, a.attname`,
    [schema],
  );
  return rows;
}

const larger = (a: string | null, b: string | null) => (a === null ? b : b === null || BigInt(a) >= BigInt(b) ? a : b);

/**
 * Each sequence owned by a module table, source last_value against the target's. With `fix`,
 * sets every target sequence that is behind to the larger of the source's value and the
 * largest key in the target's table (setval), so the target's next value is past both.
 */
export async function checkSequences(
  source: Knex,
  target: Knex,
  schema: string,
  options: { fix?: boolean } = {},
): Promise<SequenceCheck[]> {
  const theirs = await ownedSequences(target, schema);
  const checks: SequenceCheck[] = [];
  for (const mine of await ownedSequences(source, schema)) {
    const twin = theirs.find((t) => t.table === mine.table && t.column === mine.column);
    const check: SequenceCheck = {
      table: mine.table,
      column: mine.column,
      sequence: mine.sequence,
      source: mine.last_value,
      target: twin?.last_value ?? null,
      onTarget: twin !== undefined,
      behind: false,
    };
    if (twin) {
      const { rows } = await target.raw<{ rows: { max: string | null }[] }>(
        `SELECT max(${quoteIdent(mine.column)})::text AS max FROM ${qualified(schema, mine.table)}`,
      );
      const needed = larger(mine.last_value, rows[0]!.max);
      check.behind = needed !== null && (twin.last_value === null || BigInt(twin.last_value) < BigInt(needed));
      if (options.fix && check.behind) {
        await target.raw('SELECT setval(?::regclass, ?::bigint, true)', [qualified(schema, twin.sequence), needed]);
        check.fixedTo = needed!;
        check.target = needed;
        check.behind = false;
      }
    }
    checks.push(check);
  }
  return checks;
}
