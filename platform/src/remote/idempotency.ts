import type { Knex } from 'knex';
import type { Migration } from '../module.js';

/** The table of the keys of writing API calls, in the service's own schema. */
export const apiIdempotencyTable = 'api_idempotency';

/**
 * The API router's table, for the service's migration list (after the module's own):
 * one row per writing call, holding the answer it got. `status` is null while the call runs.
 * @example export const migrations = [createProducts, createReservations, apiIdempotencyMigration];
 */
export const apiIdempotencyMigration: Migration = {
  name: 'ficus-api-idempotency',
  async up(db) {
    await db.schema.createTable(apiIdempotencyTable, (t) => {
      t.text('key').primary();
      t.text('method').notNullable();
      t.integer('status');
      t.jsonb('body');
      t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
      t.index('created_at');
    });
  },
  async down(db) {
    await db.schema.dropTable(apiIdempotencyTable);
  },
};

/** An answer as it was sent, and is sent again to a retry. */
export interface StoredAnswer {
  status: number;
  body: unknown;
}

export interface KeyRecord {
  method: string;
  /** Null: the call is still running, or its process died before recording the answer. */
  answer: StoredAnswer | null;
}

export async function findKey(db: Knex, key: string): Promise<KeyRecord | undefined> {
  const row = await db(apiIdempotencyTable)
    .where({ key })
    .first<{ method: string; status: number | null; body: unknown } | undefined>('method', 'status', 'body');
  if (!row) return undefined;
  return { method: row.method, answer: row.status === null ? null : { status: row.status, body: row.body } };
}

/** Inserts the key as running; false when it exists already. */
export async function claimKey(db: Knex, key: string, method: string): Promise<boolean> {
  const inserted = await db(apiIdempotencyTable).insert({ key, method }).onConflict('key').ignore().returning('key');
  return inserted.length > 0;
}

export async function recordAnswer(db: Knex, key: string, method: string, answer: StoredAnswer): Promise<void> {
  await db(apiIdempotencyTable)
    .insert({ key, method, status: answer.status, body: JSON.stringify(answer.body) })
    .onConflict('key')
    .merge(['status', 'body']);
}

export async function forgetKey(db: Knex, key: string): Promise<void> {
  await db(apiIdempotencyTable).where({ key }).delete();
}

/**
 * Takes the transaction-scoped advisory lock of `key`, or reports that another transaction holds
 * it (the same call running now). Two keys sharing a 64-bit hash would wait for each other:
 * a spurious, retriable 409, never a wrong answer.
 */
export async function lockKey(trx: Knex.Transaction, key: string): Promise<boolean> {
  const { rows } = await trx.raw<{ rows: Array<{ locked: boolean }> }>(
    'SELECT pg_try_advisory_xact_lock(hashtextextended(?, 0)) AS locked',
    [key],
  );
  return rows[0]!.locked;
}

/** Deletes keys older than `retentionMs`; a retry after that runs the call again. */
export async function pruneKeys(db: Knex, retentionMs: number): Promise<number> {
  return db(apiIdempotencyTable)
    .where('created_at', '<', db.raw(`now() - make_interval(secs => ?)`, [retentionMs / 1000]))
    .delete();
}
