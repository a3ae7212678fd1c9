import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Knex, moduleRoleName } from '../../../platform/src/index.js';
import { sandboxCards } from '../../../monolith/src/modules/payments/index.js';
import {
  freezeWrites,
  holdFreeze,
  installFreezeGuard,
  unfreezeWrites,
  writesAllowed,
} from '../../../tools/src/data/freeze.js';
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

  it('holds a freeze for as long as its session lives: writes refused meanwhile, open again when it ends or is cut off', async () => {
    const adminToken = await t.token('admin');
    const create = (sku: string) =>
      request(t.app)
        .post('/api/v1/products')
        .set('authorization', `Bearer ${adminToken}`)
        .send({ sku, name: 'Held fig', priceCents: 100, available: 1 });
    await installFreezeGuard(admin, 'catalog');
    await installFreezeGuard(admin, 'catalog'); // idempotent
    const held = await holdFreeze(t.database.url, 'catalog', { waitMs: 1000 });
    const refused = await create('FIG-HELD-1');
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.body).toMatchObject({ code: 'FICUS_ERR_WRITES_FROZEN' });
    await request(t.app).get('/api/v1/products').expect(200);
    await held.assertHeld();
    await held.release();
    expect((await create('FIG-HELD-1')).status).toBe(201);

    // Cut off: the server ends the holder's session, and with it the freeze.
    const cut = await holdFreeze(t.database.url, 'catalog', { waitMs: 1000 });
    expect((await create('FIG-HELD-2')).status).toBe(503);
    await admin.raw(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'ficus-data-freeze'`,
    );
    await expect(cut.assertHeld()).rejects.toThrow('the freeze of schema catalog was lost');
    expect((await create('FIG-HELD-2')).status).toBe(201);
    await cut.release();
  });

  it('waits for a write transaction under way before it holds, refusing new ones meanwhile, and gives up after waitMs', async () => {
    const writer = createDb(t.database.url, { poolMax: 2 });
    try {
      let release!: () => void;
      const open = new Promise<void>((resolve) => (release = resolve));
      let began!: () => void;
      const begun = new Promise<void>((resolve) => (began = resolve));
      const longWrite = writer.transaction(async (trx) => {
        await trx('catalog.stock_levels').update({ available: trx.raw('available') });
        began();
        await open;
      });
      await begun;
      await expect(holdFreeze(t.database.url, 'catalog', { waitMs: 200 })).rejects.toThrow(
        'writes to schema catalog still under way after 200 ms',
      );
      const pending = holdFreeze(t.database.url, 'catalog', { waitMs: 5000 });
      await new Promise((resolve) => setTimeout(resolve, 100));
      // While the freeze waits for the open transaction, a new write is already refused.
      await expect(writer('catalog.stock_levels').update({ available: writer.raw('available') })).rejects.toMatchObject(
        {
          code: '42501',
        },
      );
      release();
      await longWrite;
      const held = await pending;
      await held.release();
    } finally {
      await writer.destroy();
    }
  });
});
