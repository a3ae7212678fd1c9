import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Knex } from '../../../platform/src/index.js';
import { sandboxCards } from '../../../monolith/src/modules/payments/index.js';
import { copyCatalog, startTestCatalogService, type TestCatalogService } from '../../kit/catalog-service.js';
import { capturingLogger } from '../../kit/logs.js';
import { startTestMonolith, type TestMonolith } from '../../kit/monolith.js';
import { waitFor } from '../../kit/processes.js';
import { droppingProxy, type DroppingProxy } from '../../kit/upstreams.js';

// The monolith calls the catalog service through a proxy that can cut the answers to reserveStock
// (each request still reaches the service and is applied) or go down.
let service: TestCatalogService;
let proxy: DroppingProxy;
let t: TestMonolith;
let orders: Knex;
const logs = capturingLogger();
let fig: string;
let banyan: string;
/** Stock per product when the file began. */
let initial: Map<string, number>;

beforeAll(async () => {
  service = await startTestCatalogService();
  proxy = await droppingProxy(new URL(service.url));
  t = await startTestMonolith({
    env: {
      CATALOG_API: 'remote',
      CATALOG_SERVICE_URL: proxy.url,
      CATALOG_API_TOKEN: service.token,
      // The retry job of failed compensations, at a pace a test can wait for.
      COMPENSATION_RETRY_MS: '200',
    },
    logger: logs.logger,
  });
  const monolithCatalog = t.monolith.dbs.get('catalog')!;
  await copyCatalog(monolithCatalog, service.db);
  orders = t.monolith.dbs.get('orders')!;
  const products = await service.db('products').select<Array<{ id: string; sku: string }>>('id', 'sku');
  fig = products.find((p) => p.sku === 'FIG-001')!.id;
  banyan = products.find((p) => p.sku === 'FIG-002')!.id;
  initial = await stockLevels();
});
afterAll(async () => {
  await t?.close();
  await proxy?.close();
  await service?.close();
});

async function stockLevels(): Promise<Map<string, number>> {
  const rows = await service.db('stock_levels').select<Array<{ product_id: string; available: number }>>();
  return new Map(rows.map((row) => [row.product_id, row.available]));
}

async function place(productId: string, quantity: number) {
  return request(t.app)
    .post('/api/v1/orders')
    .set('authorization', `Bearer ${await t.token('customer')}`)
    .send({ items: [{ productId, quantity }], payment: { cardNumber: sandboxCards.approved } });
}

const keyOf = (orderId: string) => `orders:${orderId}:reserve`;

/** Orders whose release the saga has not finished: marked before it asks the catalog again. */
const pendingReleases = async () =>
  (await orders('orders').whereLike('failure_code', '%compensation failed: release-stock (idempotency key %')).length;

/**
 * What no lost answer may break: the service's stock is the initial stock less what confirmed
 * orders bought; no reservation stays held for an order that is not confirmed; no order has more
 * than one reservation (none was applied twice).
 */
async function expectNoStockLeaked(): Promise<void> {
  const all = await orders('orders').select<Array<{ id: string; status: string }>>('id', 'status');
  const confirmed = new Set(all.filter((o) => o.status === 'confirmed').map((o) => o.id));
  const lines = await orders('order_lines').select<Array<{ order_id: string; product_id: string; quantity: number }>>();
  const expected = new Map(initial);
  for (const line of lines) {
    if (confirmed.has(line.order_id)) expected.set(line.product_id, expected.get(line.product_id)! - line.quantity);
  }
  expect(await stockLevels()).toEqual(expected);
  const reservations = await service.db('reservations').select<Array<{ reference: string; status: string }>>();
  for (const order of all) {
    const held = reservations.filter((r) => r.reference === order.id);
    expect(held.length, `reservations of order ${order.id}`).toBeLessThanOrEqual(1);
    if (order.status !== 'confirmed')
      expect(
        held.filter((r) => r.status === 'held'),
        order.id,
      ).toEqual([]);
  }
}

describe('orders whose every reserveStock answer is lost for a while', () => {
  it('are rejected cleanly; the saga asks again by key, gives back what the service held, and the next order is confirmed', async () => {
    await t.token('customer');
    proxy.dropAnswersTo('/reserveStock');
    const placing = Promise.all([place(fig, 1), place(fig, 2), place(banyan, 3), place(banyan, 1000)]);
    // Answers pass again once every order's call has given up its own retries: the saga marks the
    // order with its pending release before it asks the catalog again.
    await waitFor(
      async () => ((await pendingReleases()) === 4 ? true : undefined),
      10_000,
      () => 'four orders waiting to learn what the catalog did',
      10,
    );
    proxy.dropAnswersTo(undefined);
    const responses = await placing;

    for (const res of responses) {
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.body.orderId).toEqual(expect.any(String));
      expect(res.body).not.toHaveProperty('maybeApplied');
    }
    const [lost, refused] = [responses.slice(0, 3), responses[3]!];
    for (const res of lost) {
      expect(res.status).toBe(502);
      expect(res.body).toMatchObject({ code: 'FICUS_ERR_UPSTREAM_UNAVAILABLE' });
      expect(res.body.detail).toContain('place the order again');
    }
    // The stored answer to the refused call, learned by its key: the reason the client is told.
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'FICUS_ERR_INSUFFICIENT_STOCK', productId: banyan, requested: 1000 });

    const ids = responses.map((res) => res.body.orderId as string);
    const rows = await orders('orders').whereIn('id', ids).select('id', 'status', 'failure_code', 'reservation_id');
    const byId = new Map(rows.map((row) => [row.id, row]));
    const reservations = await service.db('reservations').whereIn('reference', ids).select('id', 'reference', 'status');
    for (const id of ids.slice(0, 3)) {
      const reservation = reservations.find((r) => r.reference === id);
      expect(reservation?.status).toBe('released');
      expect(byId.get(id)).toMatchObject({
        status: 'rejected',
        failure_code: 'FICUS_ERR_UPSTREAM_UNAVAILABLE',
        reservation_id: reservation.id,
      });
    }
    expect(byId.get(ids[3]!)).toMatchObject({ status: 'rejected', failure_code: 'FICUS_ERR_INSUFFICIENT_STOCK' });
    expect(reservations.filter((r) => r.reference === ids[3])).toEqual([]);
    // Each call was applied once under the order's key, though the service got it several times.
    const keys = await service.db('api_idempotency').whereIn('key', ids.map(keyOf)).select('method');
    expect(keys).toEqual(Array(4).fill({ method: 'reserveStock' }));
    expect(proxy.dropped.length).toBeGreaterThanOrEqual(4 * 3);
    await expectNoStockLeaked();

    const next = await place(fig, 2);
    expect(next.status).toBe(201);
    expect(next.body.status).toBe('confirmed');
    await expectNoStockLeaked();
  });
});

describe('an order whose reserveStock outcome cannot be learned while the service is gone', () => {
  it('is rejected with a failure code naming the pending release and its key; the retry job releases it once the service is back', async () => {
    // The service applies the reservation, its answer is cut, and the service is gone from then on.
    proxy.dropAnswersTo('/reserveStock', () => proxy.down());
    let res: Awaited<ReturnType<typeof place>>;
    try {
      res = await place(fig, 2);
    } finally {
      proxy.dropAnswersTo(undefined);
    }
    expect(res.status).toBe(502);
    expect(res.headers['content-type']).toContain('application/problem+json');
    const orderId = res.body.orderId as string;
    const key = keyOf(orderId);
    expect(await orders('orders').where({ id: orderId }).first('status', 'failure_code')).toEqual({
      status: 'rejected',
      failure_code: `FICUS_ERR_UPSTREAM_UNAVAILABLE; compensation failed: release-stock (idempotency key ${key})`,
    });
    const logged = logs.lines.filter((line) => line['idempotencyKey'] === key && line['level'] === 50);
    expect(logged).toEqual([expect.objectContaining({ orderId, msg: expect.stringContaining('compensation failed') })]);
    const [held] = await service.db('reservations').where({ reference: orderId });
    expect(held.status).toBe('held');
    // The job tries while the service is gone, and keeps the release for later.
    await waitFor(
      async () => {
        const row = await orders('compensations').where({ order_id: orderId }).first();
        return row?.attempts >= 2 && row.last_error && !row.done_at ? row : undefined;
      },
      10_000,
      () => 'two failed attempts of the retry job',
      20,
    );
    expect((await service.db('reservations').where({ id: held.id }).first()).status).toBe('held');

    // Back: the job asks again with the order's key, learns the reservation, and releases it.
    await proxy.up();
    const finished = await waitFor(
      async () => {
        const row = await orders('compensations').where({ order_id: orderId }).first();
        return row?.done_at ? row : undefined;
      },
      15_000,
      () => 'the retry job finishing the release',
      20,
    );
    // Learned by the key: the row now names the reservation it released.
    expect(finished).toMatchObject({ step: 'release-stock', reservation_id: held.id, last_error: null });
    expect(await orders('orders').where({ id: orderId }).first('status', 'failure_code', 'reservation_id')).toEqual({
      status: 'rejected',
      failure_code: 'FICUS_ERR_UPSTREAM_UNAVAILABLE',
      reservation_id: held.id,
    });
    expect((await service.db('reservations').where({ id: held.id }).first()).status).toBe('released');
    expect(logs.lines).toContainEqual(expect.objectContaining({ orderId, msg: 'compensation finished' }));
    // Applied once, under the order's key, though the saga and the job each asked again.
    expect(await service.db('reservations').where({ reference: orderId })).toHaveLength(1);
    await expectNoStockLeaked();
  });
});
