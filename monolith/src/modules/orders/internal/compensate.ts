import type { Knex, Logger } from '../../../../../platform/src/index.js';
import { finishPending, type PendingStep, recordPending } from './compensations.js';
import { updateOrder } from './order-repository.js';
import { codeOf, failureCodeOf } from './saga-failure.js';

/**
 * What undoing an order needs: its table, and the calls that give stock and money back (the
 * catalog's and payments' APIs, as PlaceOrderDeps checks; only the saga imports those modules).
 */
export interface CompensateDeps {
  db: Knex;
  catalog: { releaseReservation(reservationId: string): Promise<void> };
  payments: { refund(chargeId: string): Promise<unknown> };
}

/**
 * Undoes what the saga did, each step on its own so one failing compensation does not skip
 * the others, and records the outcome on the order. A compensation that fails is logged,
 * written to the order's failure code, and recorded for the retry job (retryCompensations),
 * which finishes it once the module answers again.
 */
export async function compensate(
  deps: CompensateDeps,
  log: Logger,
  orderId: string,
  done: { reservationId: string; refundChargeId?: string | undefined },
  outcome: { status: 'rejected' | 'payment_failed'; error: unknown; chargeId?: string | undefined },
): Promise<void> {
  const failed: string[] = [];
  const pending: PendingStep[] = [];
  const { refundChargeId, reservationId } = done;
  if (refundChargeId) {
    await deps.payments.refund(refundChargeId).catch((error: unknown) => {
      failed.push('refund');
      pending.push({ step: 'refund', chargeId: refundChargeId });
      log.error(
        { err: error, chargeId: refundChargeId },
        'compensation failed: could not refund the charge; it will be retried',
      );
    });
  }
  const released = await deps.catalog.releaseReservation(reservationId).then(
    () => true,
    (error: unknown) => {
      failed.push('release-stock');
      pending.push({ step: 'release-stock', reservationId });
      log.error(
        { err: error, reservationId },
        'compensation failed: could not release reserved stock; it will be retried',
      );
      return false;
    },
  );
  await deps.db
    .transaction(async (trx) => {
      await updateOrder(trx, orderId, {
        status: outcome.status,
        failure_code: failureCodeOf(codeOf(outcome.error), failed),
        charge_id: outcome.chargeId ?? null,
      });
      for (const step of pending) await recordPending(trx, orderId, step);
      // A release the saga had left to the retry job (its answer was lost) is done now.
      if (released) await finishPending(trx, orderId, 'release-stock');
    })
    .catch((error: unknown) => log.error({ err: error, pending }, 'could not record the failed order'));
}
