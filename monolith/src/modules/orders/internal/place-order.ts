import type { Knex, Logger } from '../../../../../platform/src/index.js';
import { FicusError, retriableDatabaseError } from '../../../../../platform/src/index.js';
import type { CatalogApi, Reservation } from '../../catalog/index.js';
import type { Charge, PaymentsApi } from '../../payments/index.js';
import { getOrder, insertPendingOrder, priceLines, updateOrder, type Order } from './order-repository.js';

export interface PlaceOrderDeps {
  db: Knex;
  catalog: CatalogApi;
  payments: PaymentsApi;
  logger: Logger;
}

export interface PlaceOrderRequest {
  userId: string;
  lines: ReadonlyArray<{ productId: string; quantity: number }>;
  cardNumber: string;
}

function codeOf(error: unknown): string {
  return error instanceof FicusError ? error.code : (retriableDatabaseError(error)?.code ?? 'FICUS_ERR_INTERNAL');
}

/** Adds the order id to a saga failure so the client can look the order up; unexpected errors become a 500 that says the order was undone. */
function withOrderId(thrown: unknown, orderId: string): FicusError {
  // A write the database paused (a cutover of another module's data): a clean, retriable failure.
  const error = retriableDatabaseError(thrown) ?? thrown;
  if (!(error instanceof FicusError)) {
    return new FicusError('FICUS_ERR_INTERNAL', `placing order ${orderId} failed and was undone; try again`, {
      extensions: { orderId },
      cause: error,
    });
  }
  return new FicusError(error.code, error.message, {
    status: error.status,
    errors: error.errors,
    extensions: { ...error.extensions, orderId },
    cause: error,
  });
}

/**
 * Undoes what the saga did, each step on its own so one failing compensation does not skip
 * the others, and records the outcome on the order. A compensation that fails is logged and
 * written to the order's failure code for an operator (or a retry job) to finish.
 */
async function compensate(
  deps: PlaceOrderDeps,
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
  const code = codeOf(outcome.error);
  await updateOrder(deps.db, orderId, {
    status: outcome.status,
    failure_code: failed.length ? `${code}; compensation failed: ${failed.join(', ')}` : code,
    charge_id: outcome.chargeId ?? null,
  }).catch((error: unknown) => log.error({ err: error }, 'could not record the failed order'));
}

/**
 * The place-order saga: record the order, reserve stock (catalog), charge (payments), confirm.
 * Once stock is held, every failure gives it back (and refunds a charge), so a failed order
 * never keeps stock or money. The order row records how far it got.
 */
export async function placeOrder(deps: PlaceOrderDeps, request: PlaceOrderRequest): Promise<Order> {
  const { db, catalog, payments } = deps;
  const orderId = await insertPendingOrder(db, request.userId, request.lines);
  const log = deps.logger.child({ orderId });

  let reservation: Reservation;
  try {
    reservation = await catalog.reserveStock({ reference: orderId, lines: request.lines });
  } catch (error) {
    await updateOrder(db, orderId, { status: 'rejected', failure_code: codeOf(error) });
    throw withOrderId(error, orderId);
  }

  let charge: Charge | undefined;
  let compensated = false;
  try {
    await priceLines(db, orderId, reservation.lines);
    await updateOrder(db, orderId, {
      reservation_id: reservation.id,
      total_cents: reservation.totalCents,
      currency: reservation.currency,
    });
    try {
      charge = await payments.charge({
        reference: orderId,
        amountCents: reservation.totalCents,
        currency: reservation.currency,
        cardNumber: request.cardNumber,
      });
    } catch (error) {
      log.info({ code: codeOf(error) }, 'payment failed: releasing reserved stock');
      const chargeId = error instanceof FicusError ? (error.extensions?.['chargeId'] as string | undefined) : undefined;
      // A declined or abandoned charge took no money: only the stock goes back.
      compensated = true;
      await compensate(
        deps,
        log,
        orderId,
        { reservationId: reservation.id },
        { status: 'payment_failed', error, chargeId },
      );
      throw withOrderId(error, orderId);
    }
    await updateOrder(db, orderId, { status: 'confirmed', charge_id: charge.id });
  } catch (error) {
    if (compensated) throw error;
    log.error({ err: error }, 'placing the order failed after stock was reserved: compensating');
    await compensate(
      deps,
      log,
      orderId,
      { reservationId: reservation.id, refundChargeId: charge?.id },
      { status: 'rejected', error, chargeId: charge?.id },
    );
    throw withOrderId(error, orderId);
  }

  // The order is confirmed and paid; its stock stays off the shelf whether the reservation is
  // marked committed or still held, so a failure here is logged, not undone.
  await catalog
    .commitReservation(reservation.id)
    .catch((error: unknown) =>
      log.error({ err: error, reservationId: reservation.id }, 'could not mark the reservation committed'),
    );
  return getOrder(db, orderId, request.userId);
}
