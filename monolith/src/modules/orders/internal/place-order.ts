import type { Knex, Logger } from '../../../../../platform/src/index.js';
import { FicusError } from '../../../../../platform/src/index.js';
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
  return error instanceof FicusError ? error.code : 'FICUS_ERR_INTERNAL';
}

/** Adds the order id to a saga failure so the client can look the order up. */
function withOrderId(error: unknown, orderId: string): unknown {
  if (!(error instanceof FicusError)) return error;
  return new FicusError(error.code, error.message, { status: error.status, errors: error.errors, extensions: { ...error.extensions, orderId }, cause: error });
}

/**
 * The place-order saga: record the order, reserve stock (catalog), charge (payments), confirm.
 * Each step that fails undoes the ones before it (release the reservation, refund the charge),
 * so a failed order never keeps stock or money. The order row records how far it got.
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
  await priceLines(db, orderId, reservation.lines);
  await updateOrder(db, orderId, { reservation_id: reservation.id, total_cents: reservation.totalCents, currency: reservation.currency });

  let charge: Charge;
  try {
    charge = await payments.charge({ reference: orderId, amountCents: reservation.totalCents, currency: reservation.currency, cardNumber: request.cardNumber });
  } catch (error) {
    log.info({ code: codeOf(error) }, 'payment failed: releasing reserved stock');
    await catalog.releaseReservation(reservation.id);
    const chargeId = error instanceof FicusError ? (error.extensions?.['chargeId'] as string | undefined) : undefined;
    await updateOrder(db, orderId, { status: 'payment_failed', failure_code: codeOf(error), charge_id: chargeId ?? null });
    throw withOrderId(error, orderId);
  }

  try {
    await catalog.commitReservation(reservation.id);
    await updateOrder(db, orderId, { status: 'confirmed', charge_id: charge.id });
  } catch (error) {
    log.error({ err: error }, 'confirming the order failed: refunding and releasing stock');
    await payments.refund(charge.id);
    await catalog.releaseReservation(reservation.id);
    await updateOrder(db, orderId, { status: 'rejected', failure_code: codeOf(error), charge_id: charge.id });
    throw withOrderId(error, orderId);
  }
  return getOrder(db, orderId, request.userId);
}
