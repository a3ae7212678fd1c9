import type { Logger } from '../../../../../platform/src/index.js';
import { FicusError, learnOutcome } from '../../../../../platform/src/index.js';
import { compensate, type CompensateDeps } from './compensate.js';
import { finishPending, type ReserveCall, recordPending } from './compensations.js';
import { updateOrder } from './order-repository.js';
import { codeOf, failureCodeOf, withOrderId } from './saga-failure.js';

/**
 * The idempotency key of an order's reserveStock. Derived from the order id, so the saga, the
 * retry job or an operator can ask the catalog service again what that call did.
 */
export const reserveKeyOf = (orderId: string): string => `orders:${orderId}:reserve`;

/** How long the retry job keeps off a release the saga is still learning about (its repeats take seconds). */
const sagaLeaseMs = 60_000;

/**
 * Rejects an order whose reserveStock may have been applied (`maybeApplied`: its answer was lost),
 * so the catalog service may hold stock for it. `repeat` asks again with the order's key until the
 * service says what it did (learnOutcome):
 * - it holds a reservation (made the first time, or now): released, and the order is rejected with
 *   the first failure's code. The saga does not go on with it: its client has waited through the
 *   retries already, and may have given up and ordered again;
 * - it refused (insufficient stock): nothing to give back; the order is rejected for that reason;
 * - no answer: the release is left to the retry job (retryCompensations), which asks again with
 *   the key until the catalog answers. The order's failure code names the pending release and its
 *   key, and the job's row holds the call (both written before asking, so a process that stops
 *   meanwhile leaves them too: the job takes the release over after a minute); an error is logged
 *   with the key.
 * Returns the error for the client.
 */
export async function settleUnknownReservation(
  deps: CompensateDeps,
  log: Logger,
  orderId: string,
  error: FicusError,
  call: ReserveCall,
  repeat: () => Promise<{ id: string }>,
): Promise<FicusError> {
  const idempotencyKey = reserveKeyOf(orderId);
  const record = (changes: Parameters<typeof updateOrder>[2]) =>
    updateOrder(deps.db, orderId, changes).catch((failure: unknown) =>
      log.error({ err: failure, idempotencyKey, ...changes }, 'could not record the failed order'),
    );
  const pending = { step: 'release-stock', idempotencyKey, reserveCall: call } as const;
  const mark = {
    status: 'rejected' as const,
    failure_code: failureCodeOf(error.code, [`release-stock (idempotency key ${idempotencyKey})`]),
  };
  // Together: the mark an operator reads and the row the retry job works from.
  await deps.db
    .transaction(async (trx) => {
      await updateOrder(trx, orderId, mark);
      await recordPending(trx, orderId, pending, { delayMs: sagaLeaseMs });
    })
    .catch((failure: unknown) =>
      log.error({ err: failure, idempotencyKey, ...mark }, 'could not record the pending release'),
    );
  log.warn({ code: error.code, idempotencyKey }, 'the answer to reserveStock was lost: asking the catalog again');

  const outcome = await learnOutcome(repeat);
  if (outcome.state === 'not-applied') {
    await record({ failure_code: codeOf(outcome.error) });
    await finishPending(deps.db, orderId, 'release-stock').catch((failure: unknown) =>
      log.error({ err: failure, idempotencyKey }, 'could not record that nothing is held'),
    );
    return withOrderId(outcome.error, orderId);
  }
  if (outcome.state === 'applied') {
    const reservationId = outcome.value.id;
    log.info({ idempotencyKey, reservationId }, 'the catalog held stock for the rejected order: releasing it');
    await record({ reservation_id: reservationId });
    await compensate(deps, log, orderId, { reservationId }, { status: 'rejected', error });
  } else {
    log.error(
      { err: outcome.error, code: error.code, idempotencyKey },
      'compensation failed: could not learn whether the catalog holds stock for the rejected order; ' +
        'the retry job asks again with this idempotency key and releases the reservation it answers',
    );
    // Due now: the job takes it from here.
    await recordPending(deps.db, orderId, pending).catch((failure: unknown) =>
      log.error({ err: failure, idempotencyKey }, 'could not record the pending release'),
    );
  }
  return new FicusError(
    error.code,
    `order ${orderId} was rejected: the catalog service's answer to reserving its stock was lost (${error.code}); ` +
      'nothing was charged; place the order again',
    { status: error.status, extensions: { orderId }, cause: error },
  );
}
