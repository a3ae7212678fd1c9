import type { Knex } from '../../../../../platform/src/index.js';

/** The call that reserved an order's stock, as the saga made it: repeated as is under its key. */
export interface ReserveCall {
  reference: string;
  lines: ReadonlyArray<{ productId: string; quantity: number }>;
}

/** A compensation a failed order still owes, until the retry job (or the saga itself) finishes it. */
export type PendingStep =
  | { step: 'refund'; chargeId: string }
  | { step: 'release-stock'; reservationId: string }
  /** The reservation's answer was lost: ask the catalog again with the key, then release what it holds. */
  | { step: 'release-stock'; idempotencyKey: string; reserveCall: ReserveCall };

export interface PendingRow {
  id: string;
  order_id: string;
  step: 'release-stock' | 'refund';
  reservation_id: string | null;
  idempotency_key: string | null;
  reserve_call: ReserveCall | null;
  charge_id: string | null;
  attempts: number;
  created_at: Date;
}

/** `now()` plus `ms`, for a step's next_at. */
const fromNow = (db: Knex, ms: number) => db.raw('now() + make_interval(secs => ?)', [ms / 1000]);

/**
 * Records what an order still owes (one row per order and step; a later record of the same step
 * replaces it, e.g. a key once the reservation is known). `delayMs` keeps the retry job off it
 * for a while: the saga is still at it.
 */
export async function recordPending(
  db: Knex,
  orderId: string,
  pending: PendingStep,
  options: { delayMs?: number } = {},
): Promise<void> {
  const row = {
    order_id: orderId,
    step: pending.step,
    reservation_id: 'reservationId' in pending ? pending.reservationId : null,
    idempotency_key: 'idempotencyKey' in pending ? pending.idempotencyKey : null,
    reserve_call: 'reserveCall' in pending ? JSON.stringify(pending.reserveCall) : null,
    charge_id: 'chargeId' in pending ? pending.chargeId : null,
    next_at: fromNow(db, options.delayMs ?? 0),
    done_at: null,
    updated_at: db.fn.now(),
  };
  await db('compensations')
    .insert(row)
    .onConflict(['order_id', 'step'])
    .merge(['reservation_id', 'idempotency_key', 'reserve_call', 'charge_id', 'next_at', 'done_at', 'updated_at']);
}

/**
 * Marks a step of an order done; once the order owes nothing more, its failure code loses the
 * "; compensation failed: …" it carried. Resolves with whether a pending step was finished.
 */
export async function finishPending(db: Knex, orderId: string, step: PendingStep['step']): Promise<boolean> {
  return db.transaction(async (trx) => {
    const finished = await trx('compensations')
      .where({ order_id: orderId, step })
      .whereNull('done_at')
      .update({ done_at: trx.fn.now(), last_error: null, updated_at: trx.fn.now() });
    if (finished === 0) return false;
    const owed = await trx('compensations').where({ order_id: orderId }).whereNull('done_at').first('id');
    if (!owed)
      await trx('orders')
        .where({ id: orderId })
        .update({
          failure_code: trx.raw(`split_part(failure_code, '; compensation failed:', 1)`),
          updated_at: trx.fn.now(),
        });
    return true;
  });
}

/**
 * Takes the next due step for this process, if any: it is leased (its next_at moved `leaseMs`
 * ahead) and counted as an attempt, so another monolith process (SKIP LOCKED) or a crash before
 * the outcome is written does not lose it or run it twice at once.
 */
export async function claimNext(db: Knex, leaseMs: number): Promise<PendingRow | undefined> {
  const { rows } = await db.raw<{ rows: PendingRow[] }>(
    `UPDATE compensations SET next_at = ?, attempts = attempts + 1, updated_at = now()
     WHERE id = (
       SELECT id FROM compensations WHERE done_at IS NULL AND next_at <= now()
       ORDER BY next_at LIMIT 1 FOR UPDATE SKIP LOCKED)
     RETURNING id, order_id, step, reservation_id, idempotency_key, reserve_call, charge_id, attempts, created_at`,
    [fromNow(db, leaseMs)],
  );
  return rows[0];
}

/**
 * A step that failed again: due after `delayMs`, or `never` for one the job cannot finish (kept,
 * the order's failure code still naming it, for an operator); `reason` is kept with it.
 */
export async function postpone(db: Knex, id: string, delayMs: number | 'never', reason: string): Promise<void> {
  await db('compensations')
    .where({ id })
    .update({
      next_at: delayMs === 'never' ? db.raw(`'infinity'::timestamptz`) : fromNow(db, delayMs),
      last_error: reason,
      updated_at: db.fn.now(),
    });
}
