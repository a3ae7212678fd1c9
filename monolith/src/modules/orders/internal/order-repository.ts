import type { Knex } from '../../../../../platform/src/index.js';
import { FicusError } from '../../../../../platform/src/index.js';

export type OrderStatus = 'pending' | 'confirmed' | 'rejected' | 'payment_failed';

export interface OrderLine {
  productId: string;
  sku: string | null;
  name: string | null;
  quantity: number;
  unitPriceCents: number | null;
}

export interface Order {
  id: string;
  userId: string;
  status: OrderStatus;
  totalCents: number | null;
  currency: string | null;
  chargeId: string | null;
  failureCode: string | null;
  lines: OrderLine[];
  createdAt: string;
}

interface OrderRow {
  id: string;
  user_id: string;
  status: OrderStatus;
  total_cents: number | null;
  currency: string | null;
  charge_id: string | null;
  failure_code: string | null;
  created_at: Date;
}

interface LineRow {
  order_id: string;
  product_id: string;
  sku: string | null;
  name: string | null;
  quantity: number;
  unit_price_cents: number | null;
}

/** Records the order as pending before any other module is asked, so every saga leaves a trace. */
export async function insertPendingOrder(
  db: Knex,
  userId: string,
  lines: ReadonlyArray<{ productId: string; quantity: number }>,
): Promise<string> {
  return db.transaction(async (trx) => {
    const [row] = await trx('orders')
      .insert({ user_id: userId, status: 'pending' })
      .returning<Array<{ id: string }>>('id');
    const merged = new Map<string, number>();
    for (const line of lines) merged.set(line.productId, (merged.get(line.productId) ?? 0) + line.quantity);
    await trx('order_lines').insert(
      [...merged].map(([productId, quantity]) => ({ order_id: row!.id, product_id: productId, quantity })),
    );
    return row!.id;
  });
}

export async function updateOrder(
  db: Knex,
  id: string,
  changes: Partial<Omit<OrderRow, 'id' | 'user_id' | 'created_at'>> & { reservation_id?: string },
): Promise<void> {
  await db('orders')
    .where({ id })
    .update({ ...changes, updated_at: db.fn.now() });
}

export async function priceLines(
  db: Knex,
  orderId: string,
  lines: ReadonlyArray<{ productId: string; sku: string; name: string; unitPriceCents: number }>,
): Promise<void> {
  for (const line of lines) {
    await db('order_lines')
      .where({ order_id: orderId, product_id: line.productId })
      .update({ sku: line.sku, name: line.name, unit_price_cents: line.unitPriceCents });
  }
}

function toOrder(row: OrderRow, lines: LineRow[]): Order {
  return {
    id: row.id,
    userId: row.user_id,
    status: row.status,
    totalCents: row.total_cents,
    currency: row.currency,
    chargeId: row.charge_id,
    failureCode: row.failure_code,
    createdAt: row.created_at.toISOString(),
    lines: lines.map((l) => ({
      productId: l.product_id,
      sku: l.sku,
      name: l.name,
      quantity: l.quantity,
      unitPriceCents: l.unit_price_cents,
    })),
  };
}

async function withLines(db: Knex, rows: OrderRow[]): Promise<Order[]> {
  if (rows.length === 0) return [];
  const lines = await db('order_lines')
    .whereIn(
      'order_id',
      rows.map((r) => r.id),
    )
    .orderBy('product_id')
    .select<LineRow[]>('*');
  return rows.map((row) =>
    toOrder(
      row,
      lines.filter((l) => l.order_id === row.id),
    ),
  );
}

/** The order if `userId` owns it (or `userId` is undefined, for admins); 404 otherwise, so ids of others' orders leak nothing. */
export async function getOrder(db: Knex, id: string, userId: string | undefined): Promise<Order> {
  const query = db('orders').where({ id });
  if (userId !== undefined) query.andWhere({ user_id: userId });
  const row = await query.first<OrderRow | undefined>();
  if (!row) throw new FicusError('FICUS_ERR_NOT_FOUND', `order ${id} does not exist`);
  return (await withLines(db, [row]))[0]!;
}

export async function listOrders(db: Knex, userId: string, page: { limit: number; offset: number }): Promise<Order[]> {
  const rows = await db('orders')
    .where({ user_id: userId })
    .orderBy([{ column: 'created_at', order: 'desc' }, 'id'])
    .limit(page.limit)
    .offset(page.offset)
    .select<OrderRow[]>('*');
  return withLines(db, rows);
}
