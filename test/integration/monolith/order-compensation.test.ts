import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, createLogger, createTokens, type Knex } from '../../../platform/src/index.js';
import { openModuleDb, seedModules } from '../../../monolith/src/database.js';
import { createCatalog } from '../../../monolith/src/modules/catalog/index.js';
import { createOrders } from '../../../monolith/src/modules/orders/index.js';
import { recordPending } from '../../../monolith/src/modules/orders/internal/compensations.js';
import { retryCompensations } from '../../../monolith/src/modules/orders/internal/retry-compensations.js';
import {
  createPayments,
  createSandboxProvider,
  sandboxCards,
  type PaymentsApi,
} from '../../../monolith/src/modules/payments/index.js';
import { definedModules as modules } from '../../../monolith/src/modules.js';
import { createTestDatabase, type TestDatabase } from '../../kit/database.js';
import { capturingLogger } from '../../kit/logs.js';
import { waitFor } from '../../kit/processes.js';

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

/** The catalog and payments modules on their own tables, as the monolith composes them. */
function modulesOnTheirTables() {
  const tokens = createTokens({ secret: 'x'.repeat(32), ttlSeconds: 60 });
  const catalog = createCatalog({ db: dbOf('catalog'), tokens });
  const realPayments = createPayments({
    db: dbOf('payments'),
    tokens,
    provider: createSandboxProvider(),
    timeoutMs: 1000,
  });
  return { tokens, catalog, realPayments };
}

/** From now on confirming an order fails in the database itself. */
const refuseConfirming = () =>
  admin.raw(`DO $$ BEGIN
    ALTER TABLE orders.orders ADD CONSTRAINT no_confirming CHECK (status <> 'confirmed');
  EXCEPTION WHEN duplicate_object THEN NULL; END $$`);

/** Payments whose charge goes through; then confirming the order fails in the database itself. */
function failingAfterTheCharge(payments: PaymentsApi): PaymentsApi {
  return {
    ...payments,
    async charge(request) {
      const charge = await payments.charge(request);
      await refuseConfirming();
      return charge;
    },
  };
}

describe('the place-order saga when a step fails after the charge', () => {
  it('refunds the charge, puts the stock back and records the order as rejected', async () => {
    const { tokens, catalog, realPayments } = modulesOnTheirTables();
    const payments = failingAfterTheCharge(realPayments.api);
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

  it('records the refund and the release it could not make (payments and catalog not answering), and its retry job makes them once they answer', async () => {
    const { tokens, catalog, realPayments } = modulesOnTheirTables();
    let down = true;
    const unanswered = () => Promise.reject(new Error('connect ECONNREFUSED (module down)'));
    const payments: PaymentsApi = {
      ...failingAfterTheCharge(realPayments.api),
      refund: (chargeId) => (down ? unanswered() : realPayments.api.refund(chargeId)),
    };
    const ordersDb = dbOf('orders');
    const orders = createOrders({
      db: ordersDb,
      tokens,
      logger: createLogger({ level: 'silent', name: 'test' }),
      catalog: {
        ...catalog.api,
        releaseReservation: (id) => (down ? unanswered() : catalog.api.releaseReservation(id)),
      },
      payments,
      retryCompensationsMs: 100,
    });
    try {
      const product = (await catalog.api.listProducts()).find((p) => p.sku === 'POT-010')!;
      const failed = await orders.api
        .placeOrder({
          userId: '00000000-0000-4000-8000-000000000010',
          lines: [{ productId: product.id, quantity: 2 }],
          cardNumber: sandboxCards.approved,
        })
        .then(
          () => undefined,
          (error: { extensions: { orderId: string } }) => error,
        );
      const orderId = failed!.extensions.orderId;
      const order = await ordersDb('orders').where({ id: orderId }).first('status', 'failure_code', 'charge_id');
      expect(order).toMatchObject({
        status: 'rejected',
        failure_code: 'FICUS_ERR_INTERNAL; compensation failed: refund, release-stock',
      });
      expect((await realPayments.api.getCharge(order.charge_id)).status).toBe('succeeded');
      expect((await catalog.api.getProduct(product.id)).available).toBe(product.available - 2);
      const owed = (): Promise<Array<{ step: string; attempts: number }>> =>
        ordersDb('compensations').where({ order_id: orderId }).whereNull('done_at').orderBy('step');
      expect((await owed()).map((row) => row.step)).toEqual(['refund', 'release-stock']);
      // Tried, and kept, while they do not answer.
      await waitFor(
        async () => ((await owed()).filter((row) => row.attempts >= 2).length === 2 ? true : undefined),
        10_000,
        () => 'two attempts of each',
      );

      down = false;
      await waitFor(
        async () => ((await owed()).length === 0 ? true : undefined),
        10_000,
        () => 'the retry job finishing',
      );
      expect((await realPayments.api.getCharge(order.charge_id)).status).toBe('refunded');
      expect((await catalog.api.getProduct(product.id)).available).toBe(product.available);
      expect(await ordersDb('orders').where({ id: orderId }).first('failure_code')).toEqual({
        failure_code: 'FICUS_ERR_INTERNAL',
      });
    } finally {
      await orders.close();
    }
  });

  it('sets aside a lost reservation older than the catalog keeps its key, for an operator, without asking again', async () => {
    const { catalog } = modulesOnTheirTables();
    const ordersDb = dbOf('orders');
    const [inserted] = await ordersDb('orders')
      .insert({ user_id: '00000000-0000-4000-8000-000000000011', status: 'rejected', failure_code: 'x' })
      .returning<Array<{ id: string }>>('id');
    const orderId = inserted!.id;
    const idempotencyKey = `orders:${orderId}:reserve`;
    await recordPending(ordersDb, orderId, {
      step: 'release-stock',
      idempotencyKey,
      reserveCall: { reference: orderId, lines: [{ productId: '00000000-0000-4000-8000-000000000012', quantity: 1 }] },
    });
    await ordersDb('compensations')
      .where({ order_id: orderId })
      .update({ created_at: ordersDb.raw(`now() - interval '21 hours'`) });
    const asked: string[] = [];
    const logs = capturingLogger();
    const job = retryCompensations({
      db: ordersDb,
      catalog: catalog.api,
      catalogService: {
        withIdempotencyKey: (key) => {
          asked.push(key);
          return catalog.api.withIdempotencyKey(key);
        },
      },
      payments: { refund: () => Promise.reject(new Error('not expected')) },
      logger: logs.logger,
      intervalMs: 60_000,
    });
    try {
      expect(await job.runOnce()).toBe(1);
      // Set aside for good: not due again.
      expect(await job.runOnce()).toBe(0);
    } finally {
      await job.stop();
    }
    expect(asked).toEqual([]);
    const row = await ordersDb('compensations').where({ order_id: orderId }).first('done_at', 'last_error');
    expect(row.done_at).toBeNull();
    expect(row.last_error).toContain('the catalog service keeps idempotency keys for 24 h');
    expect(row.last_error).toContain(`release the held reservations whose reference is ${orderId}`);
    expect(logs.lines).toContainEqual(
      expect.objectContaining({ level: 50, idempotencyKey, msg: expect.stringContaining('compensation set aside') }),
    );
  });
});
