import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, createLogger, createTokens, type Knex } from '../../../platform/src/index.js';
import { openModuleDb, seedModules } from '../../../monolith/src/database.js';
import { createCatalog } from '../../../monolith/src/modules/catalog/index.js';
import { createOrders } from '../../../monolith/src/modules/orders/index.js';
import {
  createPayments,
  createSandboxProvider,
  sandboxCards,
  type PaymentsApi,
} from '../../../monolith/src/modules/payments/index.js';
import { definedModules as modules } from '../../../monolith/src/modules.js';
import { createTestDatabase, type TestDatabase } from '../../kit/database.js';

let database: TestDatabase;
let admin: Knex;
const dbs: Knex[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  await seedModules(database.config, { modules });
  admin = createDb(database.url, { poolMax: 1 });
});
afterAll(async () => {
  await Promise.all(dbs.map((db) => db.destroy()));
  await admin.destroy();
  await database.drop();
});

const dbOf = (name: string) => {
  const db = openModuleDb(database.config, modules.find((m) => m.manifest.name === name)!, { poolMax: 2 });
  dbs.push(db);
  return db;
};

describe('the place-order saga when a step fails after the charge', () => {
  it('refunds the charge, puts the stock back and records the order as rejected', async () => {
    const tokens = createTokens({ secret: 'x'.repeat(32), ttlSeconds: 60 });
    const catalog = createCatalog({ db: dbOf('catalog'), tokens });
    const realPayments = createPayments({
      db: dbOf('payments'),
      tokens,
      provider: createSandboxProvider(),
      timeoutMs: 1000,
    });
    // The charge goes through; then confirming the order fails in the database itself.
    const payments: PaymentsApi = {
      ...realPayments.api,
      async charge(request) {
        const charge = await realPayments.api.charge(request);
        await admin.raw("ALTER TABLE orders.orders ADD CONSTRAINT no_confirming CHECK (status <> 'confirmed')");
        return charge;
      },
    };
    const orders = createOrders({
      db: dbOf('orders'),
      tokens,
      logger: createLogger({ level: 'silent', name: 'test' }),
      catalog: catalog.api,
      payments,
    });
    const product = (await catalog.api.listProducts()).find((p) => p.sku === 'FIG-001')!;

    await expect(
      orders.api.placeOrder({
        userId: '00000000-0000-4000-8000-000000000009',
        lines: [{ productId: product.id, quantity: 3 }],
        cardNumber: sandboxCards.approved,
      }),
    ).rejects.toMatchObject({ extensions: expect.objectContaining({ orderId: expect.any(String) }) });

    expect((await catalog.api.getProduct(product.id)).available).toBe(product.available);
    const [order] = await admin('orders.orders').select('status', 'failure_code', 'charge_id');
    expect(order).toMatchObject({ status: 'rejected' });
    expect((await realPayments.api.getCharge(order.charge_id)).status).toBe('refunded');
    const reservation = await admin('catalog.reservations').first('status');
    expect(reservation.status).toBe('released');
  });
});
