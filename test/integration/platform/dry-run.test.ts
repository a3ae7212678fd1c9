import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, createLogger, type Knex, shadowHeader, signShadowRequest } from '../../../platform/src/index.js';
import { createMonolith } from '../../../monolith/src/app.js';
import { definedModules as modules } from '../../../monolith/src/modules.js';
import { sandboxCards } from '../../../monolith/src/modules/payments/index.js';
import { countingProvider, startTestMonolith, type TestMonolith } from '../../kit/monolith.js';

const secret = 'dry-run-test-shadow-secret-0123456789';

let t: TestMonolith;
let admin: Knex;
let customer: string;
let products: Record<string, { id: string }>;
const payments = countingProvider();

beforeAll(async () => {
  t = await startTestMonolith({ env: { SHADOW_SECRET: secret }, paymentProvider: payments.provider });
  admin = createDb(t.database.url, { poolMax: 2 });
  customer = await t.token('customer');
  const { body } = await request(t.app).get('/api/v1/products').expect(200);
  products = Object.fromEntries(body.items.map((p: { sku: string; id: string }) => [p.sku, p]));
});
afterAll(async () => {
  await admin?.destroy();
  await t?.close();
});

type Snapshot = Record<string, { rows: number; digest: string }>;

/** Row count and a digest of the content of every table in every module's schema, read as the admin. */
async function snapshot(): Promise<Snapshot> {
  const tables = await admin('information_schema.tables')
    .whereIn(
      'table_schema',
      modules.map((m) => m.manifest.schema),
    )
    .andWhere('table_type', 'BASE TABLE')
    .select<Array<{ table_schema: string; table_name: string }>>('table_schema', 'table_name');
  const entries = await Promise.all(
    tables.map(async ({ table_schema, table_name }) => {
      const { rows } = await admin.raw(
        "SELECT count(*)::int AS rows, md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS digest FROM ?? AS t",
        [`${table_schema}.${table_name}`],
      );
      return [`${table_schema}.${table_name}`, rows[0]] as const;
    }),
  );
  return Object.fromEntries(entries);
}

const rowsOf = (s: Snapshot) => Object.fromEntries(Object.entries(s).map(([table, { rows }]) => [table, rows]));

/** Waits until no session of the test database is left inside a transaction (every rollback done). */
async function rolledBack(): Promise<void> {
  const open = async () =>
    (
      await admin.raw(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
      )
    ).rows[0].n as number;
  for (let i = 0; i < 100 && (await open()) > 0; i++) await sleep(20);
  expect(await open()).toBe(0);
}

const orderBody = (sku = 'FIG-001', cardNumber: string = sandboxCards.approved) => ({
  items: [{ productId: products[sku]!.id, quantity: 2 }],
  payment: { cardNumber },
});

const postOrder = (app = t.app, sku?: string) =>
  request(app).post('/api/v1/orders').set('authorization', `Bearer ${customer}`).send(orderBody(sku));

const signed = (path = '/api/v1/orders', method = 'POST') => signShadowRequest(secret, { method, path });

describe('a signed shadow POST /api/v1/orders on the monolith', () => {
  it('answers as a real order is answered, leaves every table of every module as it was, calls no provider', async () => {
    const before = await snapshot();
    expect(Object.keys(before)).toEqual(
      expect.arrayContaining(['orders.orders', 'orders.order_lines', 'catalog.stock_levels', 'payments.charges']),
    );
    const charges = payments.calls.charge;
    const res = await postOrder().set(shadowHeader, signed()).expect(201);
    expect(res.headers['x-ficus-dry-run']).toBe('rolled-back');
    expect(res.body).toMatchObject({ status: 'confirmed', totalCents: 2 * 2490, chargeId: expect.any(String) });
    expect(payments.calls.charge).toBe(charges);
    await rolledBack();
    expect(await snapshot()).toEqual(before);
  });

  it('rolls back a failing saga too: the order rejected for stock, the savepoint undone, nothing kept', async () => {
    const before = await snapshot();
    const res = await postOrder(t.app, 'TOOL-01').set(shadowHeader, signed()).expect(409);
    expect(res.body).toMatchObject({ code: 'FICUS_ERR_INSUFFICIENT_STOCK', orderId: expect.any(String) });
    expect(res.headers['x-ficus-dry-run']).toBe('rolled-back');
    await rolledBack();
    expect(await snapshot()).toEqual(before);
  });

  it('refuses a bogus x-ficus-shadow header with 403 problem+json, running nothing', async () => {
    const before = await snapshot();
    const charges = payments.calls.charge;
    for (const header of ['t=1,v1=bogus', signed('/api/v1/orders?other=1'), signed('/api/v1/orders', 'PUT')]) {
      const res = await postOrder()
        .set(shadowHeader, header)
        .expect(403)
        .expect('content-type', /application\/problem\+json/);
      expect(res.body).toMatchObject({
        code: 'FICUS_ERR_SHADOW_SIGNATURE',
        status: 403,
        type: 'urn:ficus:error:FICUS_ERR_SHADOW_SIGNATURE',
        instance: '/api/v1/orders',
      });
      expect(res.body.detail).toMatch(/^shadow request refused, nothing was run: the x-ficus-shadow/);
      expect(res.headers['x-ficus-dry-run']).toBeUndefined();
    }
    expect(payments.calls.charge).toBe(charges);
    expect(await snapshot()).toEqual(before);
  });

  it('refuses even a good signature where the monolith has no SHADOW_SECRET', async () => {
    const before = await snapshot();
    const unset = createMonolith({
      config: { ...t.database.config, SHADOW_SECRET: undefined },
      modules,
      logger: createLogger({ level: 'silent', name: 'test' }),
      paymentProvider: payments.provider,
    });
    try {
      const res = await postOrder(unset.app).set(shadowHeader, signed()).expect(403);
      expect(res.body.code).toBe('FICUS_ERR_SHADOW_SIGNATURE');
      expect(res.body.detail).toMatch(/has no SHADOW_SECRET/);
    } finally {
      await unset.close();
    }
    expect(await snapshot()).toEqual(before);
  });

  it('performs the same request without the header for real, answered the same way', async () => {
    const before = await snapshot();
    const charges = payments.calls.charge;
    const dry = await postOrder().set(shadowHeader, signed()).expect(201);
    const real = await postOrder().expect(201);
    expect(real.headers['x-ficus-dry-run']).toBeUndefined();
    expect(dry.body).toEqual({
      ...real.body,
      id: expect.any(String),
      chargeId: expect.any(String),
      createdAt: expect.any(String),
    });
    expect(payments.calls.charge).toBe(charges + 1);
    const after = await snapshot();
    const added = (table: string) => after[table]!.rows - before[table]!.rows;
    expect({
      orders: added('orders.orders'),
      lines: added('orders.order_lines'),
      reservations: added('catalog.reservations'),
      charges: added('payments.charges'),
    }).toEqual({ orders: 1, lines: 1, reservations: 1, charges: 1 });
    expect(after['catalog.stock_levels']!.digest).not.toBe(before['catalog.stock_levels']!.digest);
    expect(rowsOf(after)['users.accounts']).toBe(rowsOf(before)['users.accounts']);
  });

  it('leaves the health endpoints alone, whatever the header', async () => {
    await request(t.app).get('/healthz').set(shadowHeader, 'bogus').expect(200, { status: 'ok' });
    await request(t.app).get('/readyz').set(shadowHeader, 'bogus').expect(200);
  });
});
