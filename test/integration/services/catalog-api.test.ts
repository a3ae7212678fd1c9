import { randomUUID } from 'node:crypto';
import supertest from 'supertest';
import { request as post } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apiIdempotencyTable,
  createLogger,
  createTokens,
  type FicusError,
  type Knex,
  loadConfig,
  remoteApi,
} from '../../../platform/src/index.js';
import { catalogApiSpec as monolithSpec } from '../../../monolith/src/modules/catalog/index.js';
import { createCatalogService } from '../../../services/catalog/src/app.js';
import { catalogConfigSchema } from '../../../services/catalog/src/config.js';
import { catalogApiSpec } from '../../../services/catalog/src/internal/api.js';
import { startTestCatalogService, type TestCatalogService } from '../../kit/catalog-service.js';
import { capturingLogger } from '../../kit/logs.js';
import { droppingProxy } from '../../kit/upstreams.js';

let service: TestCatalogService;
let url: string;
let product: { id: string };
const client = () => remoteApi(catalogApiSpec, { baseUrl: url, timeoutMs: 1000, token: service.token });
let catalog: ReturnType<typeof client>;

beforeAll(async () => {
  service = await startTestCatalogService();
  url = service.url;
  const tokens = createTokens({ secret: service.config.JWT_SECRET, ttlSeconds: 300 });
  const admin = (await tokens.sign({ userId: '00000000-0000-4000-8000-0000000000aa', role: 'admin' })).token;
  const created = await post(`${url}/api/v1/products`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ sku: 'FIG-200', name: 'Fig', priceCents: 1000, available: 10 }),
  });
  expect(created.statusCode).toBe(201);
  product = (await created.body.json()) as { id: string };
  catalog = client();
});
afterAll(async () => {
  await catalog?.close();
  await service?.close();
});

const stock = async (db: Knex = service.db) =>
  (await db('stock_levels').where({ product_id: product.id }).first<{ available: number }>('available')).available;
const reservationsFor = (reference: string) => service.db('reservations').where({ reference });

/**
 * One raw call of the API, as the remote client sends it: with the service's token unless told
 * another `authorization` (null: none).
 */
async function raw(
  method: string,
  body: unknown,
  key?: string,
  authorization: string | null = `Bearer ${service.token}`,
) {
  const res = await post(`${url}/internal/api/catalog/${method}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(key ? { 'idempotency-key': key } : {}),
      ...(authorization === null ? {} : { authorization }),
    },
    body: JSON.stringify(body),
  });
  return { status: res.statusCode, headers: res.headers, body: (await res.body.json()) as Record<string, unknown> };
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => expect.unreachable('the call succeeded'),
    (error: unknown) => error as FicusError,
  );

describe('the catalog service serves the catalog API', () => {
  it('declares the same spec as the module it was extracted from', () => {
    expect(catalogApiSpec).toEqual(monolithSpec);
  });

  it('reserves stock through the remote client', async () => {
    const before = await stock();
    const reservation = await catalog.reserveStock({
      reference: 'order-1',
      lines: [{ productId: product.id, quantity: 2 }],
    });
    expect(reservation).toMatchObject({ reference: 'order-1', totalCents: 2000, currency: 'EUR' });
    expect(await stock()).toBe(before - 2);
    expect(await reservationsFor('order-1')).toHaveLength(1);
    expect(await catalog.getProduct(product.id)).toMatchObject({ id: product.id, available: before - 2 });
  });

  it('applies a reserveStock sent twice with one idempotency key once, and answers both the same', async () => {
    const before = await stock();
    const args = [{ reference: 'order-2', lines: [{ productId: product.id, quantity: 3 }] }];
    const first = await raw('reserveStock', { args }, 'key-order-2');
    const second = await raw('reserveStock', { args }, 'key-order-2');
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(await stock()).toBe(before - 3);
    expect(await reservationsFor('order-2')).toHaveLength(1);
  });

  it('releases a reservation once, however often the release is sent', async () => {
    const reservation = await catalog.reserveStock({
      reference: 'order-3',
      lines: [{ productId: product.id, quantity: 1 }],
    });
    const before = await stock();
    const args = [reservation.id];
    expect((await raw('releaseReservation', { args }, 'release-3')).status).toBe(200);
    expect((await raw('releaseReservation', { args }, 'release-3')).headers['idempotent-replayed']).toBe('true');
    await catalog.releaseReservation(reservation.id);
    expect(await stock()).toBe(before + 1);
    expect((await reservationsFor('order-3'))[0].status).toBe('released');
  });

  it('reports insufficient stock as FICUS_ERR_INSUFFICIENT_STOCK, holding nothing, and stores that answer', async () => {
    const before = await stock();
    const request = { reference: 'order-4', lines: [{ productId: product.id, quantity: 1000 }] };
    const error = await failure(catalog.reserveStock(request));
    expect(error).toMatchObject({
      code: 'FICUS_ERR_INSUFFICIENT_STOCK',
      status: 409,
      extensions: { productId: product.id, available: before, requested: 1000 },
    });
    const first = await raw('reserveStock', { args: [request] }, 'key-order-4');
    const again = await raw('reserveStock', { args: [request] }, 'key-order-4');
    expect(first.body['code']).toBe('FICUS_ERR_INSUFFICIENT_STOCK');
    expect(again.body).toEqual(first.body);
    expect(await stock()).toBe(before);
    expect(await reservationsFor('order-4')).toHaveLength(0);
  });

  it('refuses a key used for another method with 409 FICUS_ERR_IDEMPOTENCY_KEY_REUSED', async () => {
    const reservation = await catalog.reserveStock({
      reference: 'order-5',
      lines: [{ productId: product.id, quantity: 1 }],
    });
    await raw('commitReservation', { args: [reservation.id] }, 'key-order-5');
    const reused = await raw('releaseReservation', { args: [reservation.id] }, 'key-order-5');
    expect(reused.status).toBe(409);
    expect(reused.body).toMatchObject({ code: 'FICUS_ERR_IDEMPOTENCY_KEY_REUSED', method: 'commitReservation' });
    expect((await reservationsFor('order-5'))[0].status).toBe('committed');
  });

  it('answers 409 with retry-after: 1 while a call with the same key is still running', async () => {
    const lock = await service.db.client.acquireConnection();
    try {
      await service.db.raw('SELECT pg_advisory_lock(hashtextextended(?, 0))', ['key-running']).connection(lock);
      const res = await raw('releaseReservation', { args: ['00000000-0000-4000-8000-000000000000'] }, 'key-running');
      expect(res.status).toBe(409);
      expect(res.headers['retry-after']).toBe('1');
      expect(res.body['code']).toBe('FICUS_ERR_IDEMPOTENCY_IN_PROGRESS');
    } finally {
      await service.db.raw('SELECT pg_advisory_unlock_all()').connection(lock);
      await service.db.client.releaseConnection(lock);
    }
  });

  it('answers an unknown method with 404 naming the known ones, a bad body or a missing key with 400', async () => {
    const unknown = await raw('deleteEverything', { args: [] });
    expect(unknown.status).toBe(404);
    expect(unknown.body['detail']).toContain(
      'getProduct, listProducts, reserveStock, releaseReservation, commitReservation',
    );
    expect((await raw('getProduct', { id: product.id })).status).toBe(400);
    expect((await raw('getProduct', { args: product.id })).status).toBe(400);
    const keyless = await raw('releaseReservation', { args: ['00000000-0000-4000-8000-000000000000'] });
    expect(keyless.status).toBe(400);
    expect(keyless.body['detail']).toContain('idempotency-key');
  });
});

describe('the catalog API without the right token', () => {
  const request = (reference: string) => ({ reference, lines: [{ productId: product.id, quantity: 1 }] });
  const keys = (key: string) => service.db(apiIdempotencyTable).where({ key });

  it.each([
    ['no authorization header', () => null, 'none came with this call'],
    ['another scheme', () => `Basic ${Buffer.from('catalog:secret').toString('base64')}`, 'none came with this call'],
    ['a wrong token', () => `Bearer ${'w'.repeat(43)}`, "it is not this service's"],
    ['a prefix of the token', () => `Bearer ${service.token.slice(0, 10)}`, "it is not this service's"],
  ])('refuses a reserveStock with %s: 401 problem+json, nothing applied, no key recorded', async (_, auth, why) => {
    const before = await stock();
    const key = `refused-${randomUUID()}`;
    const authorization = auth();
    const res = await raw('reserveStock', { args: [request(key)] }, key, authorization);
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="catalog API"/);
    expect(res.body).toMatchObject({ code: 'FICUS_ERR_API_UNAUTHORIZED', status: 401, api: 'catalog' });
    const detail = String(res.body['detail']);
    expect(detail).toContain(why);
    expect(detail).toContain('authorization: Bearer <token>');
    expect(detail).toContain('INTERNAL_API_TOKEN');
    expect(detail).toContain('CATALOG_API_TOKEN');
    expect(JSON.stringify(res.body)).not.toContain(service.token);
    if (authorization) expect(JSON.stringify(res.body)).not.toContain(authorization.split(' ')[1]);
    expect(await stock()).toBe(before);
    expect(await reservationsFor(key)).toHaveLength(0);
    expect(await keys(key)).toHaveLength(0);
  });

  it('says invalid_token in its challenge only when a token came', async () => {
    const none = await raw('getProduct', { args: [product.id] }, undefined, null);
    const wrong = await raw('getProduct', { args: [product.id] }, undefined, `Bearer ${'w'.repeat(43)}`);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="catalog API"');
    expect(wrong.headers['www-authenticate']).toBe('Bearer realm="catalog API", error="invalid_token"');
  });

  it('refuses before anything else: an unknown method, a bad body, a missing key get 401, listing nothing', async () => {
    const unknown = await raw('deleteEverything', { args: [] }, undefined, null);
    expect(unknown.status).toBe(401);
    expect(String(unknown.body['detail'])).not.toContain('reserveStock');
    expect((await raw('getProduct', { id: product.id }, undefined, null)).status).toBe(401);
    expect(
      (await raw('releaseReservation', { args: ['00000000-0000-4000-8000-000000000000'] }, undefined, null)).status,
    ).toBe(401);
  });

  it('accepts the token whatever the case of the scheme, and the call is applied once', async () => {
    const before = await stock();
    const key = `accepted-${randomUUID()}`;
    const res = await raw('reserveStock', { args: [request(key)] }, key, `bearer ${service.token}`);
    expect(res.status).toBe(200);
    expect(await stock()).toBe(before - 1);
    expect(await keys(key)).toHaveLength(1);
  });

  it('through a remote client with a wrong token: FICUS_ERR_API_UNAUTHORIZED, not applied, naming both sides', async () => {
    const wrong = remoteApi(catalogApiSpec, { baseUrl: url, timeoutMs: 1000, token: 'w'.repeat(43) });
    const none = remoteApi(catalogApiSpec, { baseUrl: url, timeoutMs: 1000 });
    try {
      const before = await stock();
      const error = await failure(wrong.withIdempotencyKey('wrong-token').reserveStock(request('wrong-token')));
      expect(error).toMatchObject({
        code: 'FICUS_ERR_API_UNAUTHORIZED',
        status: 502,
        extensions: { api: 'catalog', method: 'reserveStock', idempotencyKey: 'wrong-token', maybeApplied: false },
      });
      expect(error.message).toContain("the token sent is not the service's");
      expect(error.message).toMatch(/INTERNAL_API_TOKEN.*CATALOG_API_TOKEN/);
      expect(error.message).toContain('it was not applied');
      expect((await failure(none.getProduct(product.id))).message).toContain('no token was sent');
      expect(await stock()).toBe(before);
      expect(await keys('wrong-token')).toHaveLength(0);
    } finally {
      await Promise.all([wrong.close(), none.close()]);
    }
  });
});

describe('the catalog service without INTERNAL_API_TOKEN (development)', () => {
  it('answers calls without a token, and says so once, in a warning at startup', async () => {
    const logs = capturingLogger('warn');
    const config = loadConfig(catalogConfigSchema, { DATABASE_URL: service.config.DATABASE_URL, DB_POOL_MAX: '2' });
    const open = createCatalogService({ config, logger: logs.logger });
    try {
      expect(logs.lines).toEqual([
        expect.objectContaining({ level: 40, msg: expect.stringContaining('answers calls without a token') }),
      ]);
      expect(logs.lines[0]!['msg']).toContain('set INTERNAL_API_TOKEN (required in production)');
      const res = await supertest(open.app)
        .post('/internal/api/catalog/getProduct')
        .send({ args: [product.id] })
        .expect(200);
      expect(res.body.result).toMatchObject({ id: product.id });
      expect(logs.lines).toHaveLength(1);
    } finally {
      await open.close();
    }
  });
});

describe('rotating the catalog service token', () => {
  it('accepts the new token and the previous one while callers move, then only the new one', async () => {
    const [oldToken, newToken] = ['o'.repeat(43), 'n'.repeat(43)];
    const serve = (env: Record<string, string>) =>
      createCatalogService({
        config: loadConfig(catalogConfigSchema, {
          DATABASE_URL: service.config.DATABASE_URL,
          DB_POOL_MAX: '2',
          ...env,
        }),
        logger: createLogger({ level: 'silent', name: 'test' }),
      });
    const get = (app: ReturnType<typeof serve>['app'], token: string) =>
      supertest(app)
        .post('/internal/api/catalog/getProduct')
        .set('authorization', `Bearer ${token}`)
        .send({ args: [product.id] });
    const rotating = serve({ INTERNAL_API_TOKEN: newToken, INTERNAL_API_TOKEN_PREVIOUS: oldToken });
    try {
      expect((await get(rotating.app, oldToken)).status).toBe(200);
      expect((await get(rotating.app, newToken)).status).toBe(200);
      expect((await get(rotating.app, 'w'.repeat(43))).status).toBe(401);
    } finally {
      await rotating.close();
    }
    const rotated = serve({ INTERNAL_API_TOKEN: newToken });
    try {
      expect((await get(rotated.app, newToken)).status).toBe(200);
      const refused = await get(rotated.app, oldToken);
      expect(refused.status).toBe(401);
      expect(refused.body).toMatchObject({ code: 'FICUS_ERR_API_UNAUTHORIZED' });
    } finally {
      await rotated.close();
    }
  });
});

describe('a reserveStock whose answer is lost', () => {
  it('without retries is reported with its idempotency key, and calling again with that key returns the reservation made once', async () => {
    const proxy = await droppingProxy(new URL(url));
    const viaProxy = remoteApi(catalogApiSpec, {
      baseUrl: proxy.url,
      timeoutMs: 1000,
      retries: 0,
      token: service.token,
    });
    try {
      const before = await stock();
      const request = { reference: 'order-lost', lines: [{ productId: product.id, quantity: 2 }] };
      proxy.dropNext();
      const error = await failure(viaProxy.reserveStock(request));
      expect(['FICUS_ERR_UPSTREAM_UNAVAILABLE', 'FICUS_ERR_UPSTREAM_TIMEOUT']).toContain(error.code);
      expect(error.extensions).toMatchObject({ api: 'catalog', method: 'reserveStock', maybeApplied: true });
      expect(error.message).toContain('may have been applied');
      const key = error.extensions!['idempotencyKey'] as string;
      expect(await stock()).toBe(before - 2);

      const reservation = await viaProxy.withIdempotencyKey(key).reserveStock(request);
      const rows = await reservationsFor('order-lost');
      expect(rows).toHaveLength(1);
      expect(reservation).toMatchObject({ id: rows[0].id, reference: 'order-lost', totalCents: 2000 });
      expect(await stock()).toBe(before - 2);
    } finally {
      await viaProxy.close();
      await proxy.close();
    }
  });

  it('is asked again with the same key by default, and the caller gets the one reservation made', async () => {
    const proxy = await droppingProxy(new URL(url));
    const viaProxy = remoteApi(catalogApiSpec, { baseUrl: proxy.url, timeoutMs: 1000, token: service.token });
    try {
      const before = await stock();
      const request = { reference: 'order-retried', lines: [{ productId: product.id, quantity: 1 }] };
      proxy.dropNext();
      const reservation = await viaProxy.reserveStock(request);
      const rows = await reservationsFor('order-retried');
      expect(rows).toHaveLength(1);
      expect(reservation).toMatchObject({ id: rows[0].id, reference: 'order-retried' });
      expect(await stock()).toBe(before - 1);
    } finally {
      await viaProxy.close();
      await proxy.close();
    }
  });
});
