import type { Knex, Logger } from '../../../../../platform/src/index.js';
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
 * the others, and records the outcome on the order. A compensation that fails is logged and
 * written to the order's failure code for an operator (or a retry job) to finish.
 */
export async function compensate(
  deps: CompensateDeps,
  log: Logger,
  orderId: string,
  done: { reservationId: string; refundChargeId?: string | undefined },
  outcome: { status: 'rejected' | 'payment_failed'; error: unknown; chargeId?: string | undefined },
): Promise<void> {
  const failed: string[] = [];
  if (done.refundChargeId) {
    await deps.payments.refund(done.refundChargeId).catch((error: unknown) => {
      failed.push('refund');
      log.error({ err: error, chargeId: done.refundChargeId }, 'compensation failed: could not refund the charge');
    });
  }
  await deps.catalog.releaseReservation(done.reservationId).catch((error: unknown) => {
    failed.push('release-stock');
    log.error(
      { err: error, reservationId: done.reservationId },
      'compensation failed: could not release reserved stock',
    );
  });
  await updateOrder(deps.db, orderId, {
    status: outcome.status,
    failure_code: failureCodeOf(codeOf(outcome.error), failed),
    charge_id: outcome.chargeId ?? null,
  }).catch((error: unknown) => log.error({ err: error }, 'could not record the failed order'));
}
