import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxCards } from '../../../monolith/src/modules/payments/index.js';
import { startTestMonolith, type TestMonolith } from '../../kit/monolith.js';

let t: TestMonolith;
let customer: string;
let products: Record<string, { id: string; available: number; priceCents: number }>;

beforeAll(async () => {
  t = await startTestMonolith();
  customer = await t.token('customer');
  const { body } = await request(t.app).get('/api/v1/products');
  products = Object.fromEntries(body.items.map((p: { sku: string }) => [p.sku, p]));
});
afterAll(() => t.close());

const order = (
  items: Array<{ productId: string; quantity: number }>,
  cardNumber: string = sandboxCards.approved,
  token = customer,
) =>
  request(t.app)
    .post('/api/v1/orders')
    .set('authorization', `Bearer ${token}`)
    .send({ items, payment: { cardNumber } });

async function stock(): Promise<Record<string, number>> {
  const { body } = await request(t.app).get('/api/v1/products').expect(200);
  return Object.fromEntries(body.items.map((p: { sku: string; available: number }) => [p.sku, p.available]));
}

describe('placing orders', () => {
  it('confirms an order: stock taken, charge made, lines priced', async () => {
    const before = await stock();
    const res = await order([
      { productId: products['FIG-001']!.id, quantity: 2 },
      { productId: products['POT-010']!.id, quantity: 1 },
    ]).expect(201);
    expect(res.body).toMatchObject({ status: 'confirmed', totalCents: 2 * 2490 + 1290, currency: 'EUR' });
    expect(res.body.chargeId).toEqual(expect.any(String));
    expect(res.headers['location']).toBe(`/api/v1/orders/${res.body.id}`);
    const after = await stock();
    expect(after['FIG-001']).toBe(before['FIG-001']! - 2);
    expect(after['POT-010']).toBe(before['POT-010']! - 1);
  });

  it('leaves stock exactly as it was when the card is declined, and records why', async () => {
    const before = await stock();
    const res = await order(
      [
        { productId: products['FIG-002']!.id, quantity: 3 },
        { productId: products['SOIL-05']!.id, quantity: 5 },
      ],
      sandboxCards.declined,
    ).expect(402);
    expect(res.body).toMatchObject({ code: 'FICUS_ERR_PAYMENT_DECLINED', orderId: expect.any(String) });
    expect(await stock()).toEqual(before);
    const stored = await request(t.app)
      .get(`/api/v1/orders/${res.body.orderId}`)
      .set('authorization', `Bearer ${customer}`)
      .expect(200);
    expect(stored.body).toMatchObject({
      status: 'payment_failed',
      failureCode: 'FICUS_ERR_PAYMENT_DECLINED',
      chargeId: res.body.chargeId,
    });
  });

  it('leaves stock exactly as it was when the payment provider times out', async () => {
    const before = await stock();
    const res = await order([{ productId: products['FIG-002']!.id, quantity: 1 }], sandboxCards.timeout).expect(504);
    expect(res.body.code).toBe('FICUS_ERR_PAYMENT_TIMEOUT');
    expect(await stock()).toEqual(before);
    const reservation = await t.monolith.dbs.get('catalog')!('reservations')
      .where({ reference: res.body.orderId })
      .first();
    expect(reservation.status).toBe('released');
  });

  it('refuses more than is in stock (409) and holds nothing', async () => {
    const before = await stock();
    const res = await order([
      { productId: products['POT-010']!.id, quantity: 1 },
      { productId: products['TOOL-01']!.id, quantity: 1 },
    ]).expect(409);
    expect(res.body).toMatchObject({
      code: 'FICUS_ERR_INSUFFICIENT_STOCK',
      productId: products['TOOL-01']!.id,
      available: 0,
      requested: 1,
    });
    expect(await stock()).toEqual(before);
  });

  it('answers 422 naming a product that does not exist', async () => {
    const ghost = '00000000-0000-4000-8000-000000000001';
    const res = await order([{ productId: ghost, quantity: 1 }]).expect(422);
    expect(res.body.productIds).toEqual([ghost]);
  });

  it('never sells more than the stock under concurrent orders', async () => {
    const admin = await t.token('admin');
    const created = await request(t.app)
      .post('/api/v1/products')
      .set('authorization', `Bearer ${admin}`)
      .send({ sku: 'RARE-1', name: 'Rare fig', priceCents: 100, available: 5 })
      .expect(201);
    const results = await Promise.all(
      Array.from({ length: 12 }, () => order([{ productId: created.body.id, quantity: 1 }])),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(5);
    expect(statuses.filter((s) => s === 409)).toHaveLength(7);
    const left = await request(t.app).get(`/api/v1/products/${created.body.id}`).expect(200);
    expect(left.body.available).toBe(0);
  });

  it('lists only the signed-in user’s orders, and hides others’ orders (404)', async () => {
    const list = await request(t.app).get('/api/v1/orders').set('authorization', `Bearer ${customer}`).expect(200);
    expect(list.body.items.length).toBeGreaterThan(0);
    const me = await request(t.app).get('/api/v1/users/me').set('authorization', `Bearer ${customer}`).expect(200);
    expect(list.body.items.every((order: { userId: string }) => order.userId === me.body.id)).toBe(true);
    await request(t.app)
      .post('/api/v1/users')
      .send({ email: 'other@example.com', name: 'Other', password: 'another password' })
      .expect(201);
    const signIn = await request(t.app)
      .post('/api/v1/users/sign-in')
      .send({ email: 'other@example.com', password: 'another password' })
      .expect(200);
    const theirs = await request(t.app)
      .get('/api/v1/orders')
      .set('authorization', `Bearer ${signIn.body.token}`)
      .expect(200);
    expect(theirs.body.items).toEqual([]);
    await request(t.app)
      .get(`/api/v1/orders/${list.body.items[0].id}`)
      .set('authorization', `Bearer ${signIn.body.token}`)
      .expect(404);
  });

  it('requires a token', async () => {
    await request(t.app).get('/api/v1/orders').expect(401);
    await order([{ productId: products['FIG-001']!.id, quantity: 1 }], sandboxCards.approved, 'garbage').expect(401);
  });
});
