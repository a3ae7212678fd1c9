// Copied by ficus extract from monolith/src/modules/catalog/internal/reservations.ts; the catalog service owns this file now.
import type { Knex } from '../../../../platform/src/index.js';
import { FicusError } from '../../../../platform/src/index.js';

export interface ReservationRequest {
  /** The caller's id for what the stock is held for, e.g. an order id. */
  reference: string;
  lines: ReadonlyArray<{ productId: string; quantity: number }>;
}

export interface ReservedLine {
  productId: string;
  sku: string;
  name: string;
  quantity: number;
  unitPriceCents: number;
}

export interface Reservation {
  id: string;
  reference: string;
  lines: ReservedLine[];
  totalCents: number;
  currency: string;
}

/** Sums duplicate products and sorts by id, so concurrent reservations lock rows in one order. */
function normalize(lines: ReservationRequest['lines']): Array<[string, number]> {
  const byProduct = new Map<string, number>();
  for (const line of lines) byProduct.set(line.productId, (byProduct.get(line.productId) ?? 0) + line.quantity);
  return [...byProduct.entries()].sort(([a], [b]) => a.localeCompare(b));
}

/**
 * Takes stock for every line or for none: one transaction, conditional decrements, so stock
 * never goes negative and a failed reservation leaves every level as it was.
 */
export async function reserveStock(db: Knex, request: ReservationRequest): Promise<Reservation> {
  const wanted = normalize(request.lines);
  return db.transaction(async (trx) => {
    const products = await trx('products')
      .whereIn(
        'id',
        wanted.map(([id]) => id),
      )
      .select<Array<{ id: string; sku: string; name: string; price_cents: number; currency: string }>>(
        'id',
        'sku',
        'name',
        'price_cents',
        'currency',
      );
    const byId = new Map(products.map((p) => [p.id, p]));
    const missing = wanted.filter(([id]) => !byId.has(id)).map(([id]) => id);
    if (missing.length > 0) {
      throw new FicusError(
        'FICUS_ERR_UNKNOWN_REFERENCE',
        `product ${missing.join(', ')} does not exist; list products with GET /api/v1/products`,
        {
          extensions: { productIds: missing },
        },
      );
    }
    const currencies = new Set(products.map((p) => p.currency));
    if (currencies.size > 1) {
      throw new FicusError(
        'FICUS_ERR_CONFLICT',
        `products are priced in different currencies (${[...currencies].join(', ')}); order them separately`,
      );
    }
    for (const [productId, quantity] of wanted) {
      const updated = await trx('stock_levels')
        .where({ product_id: productId })
        .andWhere('available', '>=', quantity)
        .update({ available: trx.raw('available - ?', [quantity]), updated_at: trx.fn.now() });
      if (updated === 0) {
        const level = await trx('stock_levels')
          .where({ product_id: productId })
          .first<{ available: number } | undefined>('available');
        const available = level?.available ?? 0;
        throw new FicusError(
          'FICUS_ERR_INSUFFICIENT_STOCK',
          `product ${productId} has ${available} in stock, ${quantity} requested`,
          {
            extensions: { productId, available, requested: quantity },
          },
        );
      }
    }
    const [row] = await trx('reservations')
      .insert({ reference: request.reference })
      .returning<Array<{ id: string }>>('id');
    const id = row!.id;
    const lines: ReservedLine[] = wanted.map(([productId, quantity]) => {
      const product = byId.get(productId)!;
      return { productId, sku: product.sku, name: product.name, quantity, unitPriceCents: product.price_cents };
    });
    await trx('reservation_lines').insert(
      lines.map((line) => ({
        reservation_id: id,
        product_id: line.productId,
        quantity: line.quantity,
        unit_price_cents: line.unitPriceCents,
      })),
    );
    return {
      id,
      reference: request.reference,
      lines,
      totalCents: lines.reduce((sum, line) => sum + line.quantity * line.unitPriceCents, 0),
      currency: products[0]!.currency,
    };
  });
}

/** Returns held stock to the shelf. Idempotent: releasing twice, or after commit, changes nothing. */
export async function releaseReservation(db: Knex, reservationId: string): Promise<void> {
  await db.transaction(async (trx) => {
    const released = await trx('reservations')
      .where({ id: reservationId, status: 'held' })
      .update({ status: 'released', updated_at: trx.fn.now() });
    if (released === 0) return;
    const lines = await trx('reservation_lines')
      .where({ reservation_id: reservationId })
      .orderBy('product_id')
      .select<Array<{ product_id: string; quantity: number }>>('product_id', 'quantity');
    for (const line of lines) {
      await trx('stock_levels')
        .where({ product_id: line.product_id })
        .update({ available: trx.raw('available + ?', [line.quantity]), updated_at: trx.fn.now() });
    }
  });
}

/** Makes a held reservation final (the stock has been sold). */
export async function commitReservation(db: Knex, reservationId: string): Promise<void> {
  const committed = await db('reservations')
    .where({ id: reservationId, status: 'held' })
    .update({ status: 'committed', updated_at: db.fn.now() });
  if (committed === 0) {
    throw new FicusError(
      'FICUS_ERR_CONFLICT',
      `reservation ${reservationId} is not held (already released or committed)`,
    );
  }
}
