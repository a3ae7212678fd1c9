import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Knex, moduleRoleName } from '../../../platform/src/index.js';
import { sandboxCards } from '../../../monolith/src/modules/payments/index.js';
import { freezeWrites, unfreezeWrites, writesAllowed } from '../../../tools/src/data/freeze.js';
import { startTestMonolith, type TestMonolith } from '../../kit/monolith.js';

let t: TestMonolith;
let admin: Knex;
let role: string;
beforeAll(async () => {
  t = await startTestMonolith();
  admin = createDb(t.database.url, { poolMax: 2 });
  role = moduleRoleName(t.database.config.DB_ROLE_PREFIX, 'catalog');
});
afterAll(async () => {
  await admin?.destroy();
  await t?.close();
});

// The freeze of a cutover: the module role loses its write privileges, every write in the window
// fails fast and says to retry, reads go on, and the undo gives the writes back.
describe('freezing the catalog module’s writes in the monolith', () => {
  it('answers writes 503 with Retry-After while reads go on; an order fails cleanly; unfreezing restores them', async () => {
    const adminToken = await t.token('admin');
    const customer = await t.token('customer');
    const { body } = await request(t.app).get('/api/v1/products').expect(200);
    const product = body.items[0] as { id: string; available: number };
    expect(await writesAllowed(admin, 'catalog', role)).toBe(true);

    await freezeWrites(admin, 'catalog', role);
    expect(await writesAllowed(admin, 'catalog', role)).toBe(false);
    await request(t.app).get('/api/v1/products').expect(200);
    const write = await request(t.app)
      .post('/api/v1/products')
      .set('authorization', `Bearer ${adminToken}`)
      .send({ sku: 'FIG-777', name: 'Frozen fig', priceCents: 100, available: 1 });
    expect(write.status).toBe(503);
    expect(write.headers['retry-after']).toBe('1');
    expect(write.body).toMatchObject({ code: 'FICUS_ERR_WRITES_FROZEN', status: 503 });
    const order = await request(t.app)
      .post('/api/v1/orders')
      .set('authorization', `Bearer ${customer}`)
      .send({ items: [{ productId: product.id, quantity: 1 }], payment: { cardNumber: sandboxCards.approved } });
    expect(order.status).toBe(503);
    expect(order.headers['retry-after']).toBe('1');
    expect(order.body).toMatchObject({ code: 'FICUS_ERR_WRITES_FROZEN' });
    const rejected = await admin('orders.orders').where({ id: order.body.orderId }).first('status', 'failure_code');
    expect(rejected).toEqual({ status: 'rejected', failure_code: 'FICUS_ERR_WRITES_FROZEN' });
    const after = await request(t.app).get(`/api/v1/products/${product.id}`).expect(200);
    expect(after.body.available).toBe(product.available);

    await unfreezeWrites(admin, 'catalog', role);
    expect(await writesAllowed(admin, 'catalog', role)).toBe(true);
    await request(t.app)
      .post('/api/v1/products')
      .set('authorization', `Bearer ${adminToken}`)
      .send({ sku: 'FIG-777', name: 'Thawed fig', priceCents: 100, available: 1 })
      .expect(201);
  });
});
