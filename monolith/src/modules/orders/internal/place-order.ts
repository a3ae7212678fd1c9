import type { IdempotencyKeys, Logger } from '../../../../../platform/src/index.js';
import { FicusError, isOutcomeUnknown } from '../../../../../platform/src/index.js';
import type { CatalogApi, Reservation } from '../../catalog/index.js';
import type { Charge, PaymentsApi } from '../../payments/index.js';
import { compensate, type CompensateDeps } from './compensate.js';
import { getOrder, insertPendingOrder, priceLines, updateOrder, type Order } from './order-repository.js';
import { codeOf, withOrderId } from './saga-failure.js';
import { reserveKeyOf, settleUnknownReservation } from './settle-unknown-reservation.js';

/**
 * What the saga needs of the catalog. reserveStock is reachable only through withIdempotencyKey:
 * the saga gives it a key derived from the order (reserveKeyOf), so it can always ask the catalog
 * service again what that call did.
 */
type SagaCatalog = Omit<CatalogApi, 'reserveStock'> & IdempotencyKeys<Pick<CatalogApi, 'reserveStock'>>;

export interface PlaceOrderDeps extends CompensateDeps {
  catalog: SagaCatalog;
  payments: PaymentsApi;
  logger: Logger;
}

export interface PlaceOrderRequest {
  userId: string;
  lines: ReadonlyArray<{ productId: string; quantity: number }>;
  cardNumber: string;
}

/**
 * The place-order saga: record the order, reserve stock (catalog), charge (payments), confirm.
 * Once stock is held, every failure gives it back (and refunds a charge), so a failed order
 * never keeps stock or money; a reservation whose answer was lost is asked for again by its key
 * and given back too (settleUnknownReservation). The order row records how far it got.
 */
export async function placeOrder(deps: PlaceOrderDeps, request: PlaceOrderRequest): Promise<Order> {
  const { db, catalog, payments } = deps;
  const orderId = await insertPendingOrder(db, request.userId, request.lines);
  const log = deps.logger.child({ orderId });

  // One view, so a repeat goes to the implementation that saw the key.
  const reserving = catalog.withIdempotencyKey(reserveKeyOf(orderId));
  const stock = { reference: orderId, lines: request.lines };
  let reservation: Reservation;
  try {
    reservation = await reserving.reserveStock(stock);
  } catch (error) {
    if (isOutcomeUnknown(error)) {
      throw await settleUnknownReservation(deps, log, orderId, error, stock, () => reserving.reserveStock(stock));
    }
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
