import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, FlagSource, type Knex } from '../../../platform/src/index.js';
import { sandboxCards } from '../../../monolith/src/modules/payments/index.js';
import { copyCatalog, startTestCatalogService, type TestCatalogService } from '../../kit/catalog-service.js';
import { startTestMonolith, type TestMonolith } from '../../kit/monolith.js';
import { waitFor } from '../../kit/processes.js';
import { droppingProxy } from '../../kit/upstreams.js';

let service: TestCatalogService;
let t: TestMonolith;
let fig: { id: string };

beforeAll(async () => {
  service = await startTestCatalogService();
  t = await startTestMonolith({ env: remoteCatalog(service.url) });
  const monolithCatalog = t.monolith.dbs.get('catalog')!;
  await copyCatalog(monolithCatalog, service.db);
  fig = await monolithCatalog('products').where({ sku: 'FIG-001' }).first('id');
});
afterAll(async () => {
  await t?.close();
  await service?.close();
});

/** The monolith's environment for calling the catalog service at `url` (the service, or a proxy in front of it). */
const remoteCatalog = (url: string, token = service.token) => ({
  CATALOG_API: 'remote',
  CATALOG_SERVICE_URL: url,
  CATALOG_API_TOKEN: token,
});

const available = async (db: Knex) =>
  (await db('stock_levels').where({ product_id: fig.id }).first<{ available: number }>('available')).available;

describe('the monolith with CATALOG_API=remote', () => {
  it("places an order whose stock is taken in the catalog service's database, not the monolith's", async () => {
    const monolithCatalog = t.monolith.dbs.get('catalog')!;
    const [inMonolith, inService] = [await available(monolithCatalog), await available(service.db)];
    const res = await request(t.app)
      .post('/api/v1/orders')
      .set('authorization', `Bearer ${await t.token('customer')}`)
      .send({ items: [{ productId: fig.id, quantity: 2 }], payment: { cardNumber: sandboxCards.approved } })
      .expect(201);
    expect(res.body).toMatchObject({ status: 'confirmed', totalCents: 2 * 2490 });
    expect(await available(service.db)).toBe(inService - 2);
    expect(await available(monolithCatalog)).toBe(inMonolith);
    const reservation = await service.db('reservations').where({ reference: res.body.id }).first();
    expect(reservation.status).toBe('committed');
    expect(await monolithCatalog('reservations').where({ reference: res.body.id })).toHaveLength(0);
  });

  it("gives the stock back in the service's database when the card is declined", async () => {
    const before = await available(service.db);
    const res = await request(t.app)
      .post('/api/v1/orders')
      .set('authorization', `Bearer ${await t.token('customer')}`)
      .send({ items: [{ productId: fig.id, quantity: 1 }], payment: { cardNumber: sandboxCards.declined } })
      .expect(402);
    expect(await available(service.db)).toBe(before);
    const reservation = await service.db('reservations').where({ reference: res.body.orderId }).first();
    expect(reservation.status).toBe('released');
  });

  it('reports insufficient stock from the service as the monolith would', async () => {
    const res = await request(t.app)
      .post('/api/v1/orders')
      .set('authorization', `Bearer ${await t.token('customer')}`)
      .send({ items: [{ productId: fig.id, quantity: 1000 }], payment: { cardNumber: sandboxCards.approved } })
      .expect(409);
    expect(res.body).toMatchObject({ code: 'FICUS_ERR_INSUFFICIENT_STOCK', productId: fig.id, requested: 1000 });
  });
});

describe('the monolith following the flag ficus.catalog-api', () => {
  it('calls its own catalog until the flag is on, then the service, without a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ficus-api-flag-'));
    const flagsFile = join(dir, 'flags.json');
    await writeFile(flagsFile, JSON.stringify({ version: 2, features: [] }));
    const flags = FlagSource.fromFile(flagsFile, {
      logger: createLogger({ level: 'silent', name: 'flags' }),
      pollMs: 50,
    });
    await flags.start();
    const u = await startTestMonolith({
      env: { ...remoteCatalog(service.url), CATALOG_API: 'local' },
      flags,
    });
    try {
      // The second monolith has its own catalog tables: its product ids are the service's after this copy.
      const own = u.monolith.dbs.get('catalog')!;
      await copyCatalog(service.db, own);
      const order = async () =>
        request(u.app)
          .post('/api/v1/orders')
          .set('authorization', `Bearer ${await u.token('customer')}`)
          .send({ items: [{ productId: fig.id, quantity: 1 }], payment: { cardNumber: sandboxCards.approved } })
          .expect(201);
      const [ownBefore, serviceBefore] = [await available(own), await available(service.db)];
      await order();
      expect([await available(own), await available(service.db)]).toEqual([ownBefore - 1, serviceBefore]);
      await writeFile(
        flagsFile,
        JSON.stringify({
          version: 2,
          features: [{ name: 'ficus.catalog-api', enabled: true, strategies: [{ name: 'default', parameters: {} }] }],
        }),
      );
      await waitFor(
        async () => (flags.has('ficus.catalog-api') ? true : undefined),
        2000,
        () => 'flag applied',
        20,
      );
      await order();
      expect([await available(own), await available(service.db)]).toEqual([ownBefore - 1, serviceBefore - 1]);
    } finally {
      await u.close();
      flags.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('an order whose reserveStock answer is lost between the monolith and the service', () => {
  it('is confirmed once: the call is asked again with its key, no stock leaks and nothing is applied twice', async () => {
    const proxy = await droppingProxy(new URL(service.url));
    const u = await startTestMonolith({ env: remoteCatalog(proxy.url) });
    try {
      await copyCatalog(service.db, u.monolith.dbs.get('catalog')!);
      const before = await available(service.db);
      proxy.dropNext();
      const res = await request(u.app)
        .post('/api/v1/orders')
        .set('authorization', `Bearer ${await u.token('customer')}`)
        .send({ items: [{ productId: fig.id, quantity: 3 }], payment: { cardNumber: sandboxCards.approved } })
        .expect(201);
      expect(res.body.status).toBe('confirmed');
      expect(await available(service.db)).toBe(before - 3);
      const reservations = await service.db('reservations').where({ reference: res.body.id });
      expect(reservations.map((r: { status: string }) => r.status)).toEqual(['committed']);
    } finally {
      await u.close();
      await proxy.close();
    }
  });
});

describe('the monolith with a CATALOG_API_TOKEN the catalog service does not hold', () => {
  it('rejects an order with FICUS_ERR_API_UNAUTHORIZED, saying to set the token on both sides; no stock moves', async () => {
    const u = await startTestMonolith({ env: remoteCatalog(service.url, 'w'.repeat(43)) });
    try {
      await copyCatalog(service.db, u.monolith.dbs.get('catalog')!);
      const before = await available(service.db);
      const res = await request(u.app)
        .post('/api/v1/orders')
        .set('authorization', `Bearer ${await u.token('customer')}`)
        .send({ items: [{ productId: fig.id, quantity: 1 }], payment: { cardNumber: sandboxCards.approved } })
        .expect(502);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.body).toMatchObject({ code: 'FICUS_ERR_API_UNAUTHORIZED', orderId: expect.any(String) });
      expect(res.body.detail).toMatch(/refused the call \(401, the token sent is not the service's\)/);
      expect(res.body.detail).toMatch(/INTERNAL_API_TOKEN.*CATALOG_API_TOKEN/);
      expect(res.body.detail).not.toContain(service.token);
      expect(await available(service.db)).toBe(before);
      expect(await service.db('reservations').where({ reference: res.body.orderId })).toEqual([]);
      expect(await service.db('api_idempotency').where({ key: `orders:${res.body.orderId}:reserve` })).toEqual([]);
      const order = await u.monolith.dbs.get('orders')!('orders').where({ id: res.body.orderId }).first();
      // Refused before it ran: nothing to compensate, no release left pending.
      expect(order).toMatchObject({ status: 'rejected', failure_code: 'FICUS_ERR_API_UNAUTHORIZED' });
    } finally {
      await u.close();
    }
  });
});
