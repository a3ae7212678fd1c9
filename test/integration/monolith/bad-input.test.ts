import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestMonolith, type TestMonolith } from '../../kit/monolith.js';

let t: TestMonolith;
let customer: string;
let productId: string;

beforeAll(async () => {
  t = await startTestMonolith({ env: { BODY_LIMIT: '2kb' } });
  customer = await t.token('customer');
  productId = (await request(t.app).get('/api/v1/products')).body.items[0].id;
});
afterAll(() => t.close());

/** Rows in every table the order path writes to: none may change on bad input. */
async function writes(): Promise<number[]> {
  const count = async (module: string, table: string) =>
    Number((await t.monolith.dbs.get(module)!(table).count({ n: '*' }))[0]!['n']);
  return Promise.all([
    count('orders', 'orders'),
    count('orders', 'order_lines'),
    count('catalog', 'reservations'),
    count('payments', 'charges'),
  ]);
}

const post = () => request(t.app).post('/api/v1/orders').set('authorization', `Bearer ${customer}`);

describe('bad input gets problem+json naming the field, and writes nothing', () => {
  it('malformed JSON → 400 FICUS_ERR_MALFORMED_JSON', async () => {
    const before = await writes();
    const res = await post().set('content-type', 'application/json').send('{"items": [');
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({
      code: 'FICUS_ERR_MALFORMED_JSON',
      type: 'urn:ficus:error:FICUS_ERR_MALFORMED_JSON',
      instance: '/api/v1/orders',
    });
    expect(await writes()).toEqual(before);
  });

  it('unknown fields → 400 naming each one', async () => {
    const before = await writes();
    const res = await post()
      .send({
        items: [{ productId, quantity: 1, discount: 50 }],
        payment: { cardNumber: '4242424242424242' },
        coupon: 'FREE',
      })
      .expect(400);
    expect(res.body.errors).toEqual(
      expect.arrayContaining([
        { pointer: '/coupon', detail: 'unknown field; remove it' },
        { pointer: '/items/0/discount', detail: 'unknown field; remove it' },
      ]),
    );
    expect(await writes()).toEqual(before);
  });

  it('wrong types → 400 naming each field', async () => {
    const before = await writes();
    const res = await post()
      .send({ items: [{ productId, quantity: '1' }], payment: { cardNumber: 4242424242424242 } })
      .expect(400);
    expect(res.body.errors.map((e: { pointer: string }) => e.pointer).sort()).toEqual([
      '/items/0/quantity',
      '/payment/cardNumber',
    ]);
    expect(res.body.detail).toContain('/items/0/quantity');
    expect(await writes()).toEqual(before);
  });

  it('a body over BODY_LIMIT → 413 naming the limit', async () => {
    const before = await writes();
    const res = await post()
      .send({
        items: [{ productId, quantity: 1 }],
        payment: { cardNumber: '4242424242424242' },
        padding: 'x'.repeat(4096),
      })
      .expect(413);
    expect(res.body).toMatchObject({ code: 'FICUS_ERR_BODY_TOO_LARGE', limit: 2048 });
    expect(res.body.detail).toContain('2048 bytes');
    expect(await writes()).toEqual(before);
  });

  it('a body that is not JSON → 415 saying to send application/json', async () => {
    const before = await writes();
    const res = await post().set('content-type', 'text/plain').send('items=1').expect(415);
    expect(res.body.detail).toContain('application/json');
    expect(await writes()).toEqual(before);
  });

  it('an unknown route → 404 problem', async () => {
    const res = await request(t.app).get('/api/v1/nope').expect(404);
    expect(res.body).toMatchObject({ code: 'FICUS_ERR_NOT_FOUND', detail: 'no route for GET /api/v1/nope' });
  });
});
