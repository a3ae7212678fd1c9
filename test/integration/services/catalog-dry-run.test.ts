import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLogger,
  createTokens,
  loadConfig,
  migrateSchema,
  shadowHeader,
  signShadowRequest,
} from '../../../platform/src/index.js';
import { createCatalogService, type CatalogService } from '../../../services/catalog/src/app.js';
import { catalogConfigSchema } from '../../../services/catalog/src/config.js';
import { migrations } from '../../../services/catalog/src/migrations/index.js';
import { createTestDatabase, type TestDatabase } from '../../kit/database.js';

const secret = 'catalog-service-dry-run-secret-0123456789';

let database: TestDatabase;
let service: CatalogService;
let admin: string;
let product: { id: string; available: number };

beforeAll(async () => {
  database = await createTestDatabase({ migrate: false });
  const config = loadConfig(catalogConfigSchema, {
    DATABASE_URL: database.url,
    LOG_LEVEL: 'silent',
    DB_POOL_MAX: '2',
    SHADOW_SECRET: secret,
  });
  service = createCatalogService({ config, logger: createLogger({ level: 'silent', name: 'test' }) });
  await migrateSchema(service.db, { schema: config.DB_SCHEMA, migrations });
  const tokens = createTokens({ secret: config.JWT_SECRET, ttlSeconds: 300 });
  admin = (await tokens.sign({ userId: '00000000-0000-4000-8000-0000000000aa', role: 'admin' })).token;
  const created = await request(service.app)
    .post('/api/v1/products')
    .set('authorization', `Bearer ${admin}`)
    .send({ sku: 'FIG-100', name: 'Fig', priceCents: 1000, available: 7 })
    .expect(201);
  product = created.body;
});
afterAll(async () => {
  await service?.close();
  await database?.drop();
});

const products = async () => (await request(service.app).get('/api/v1/products').expect(200)).body.items;

const write = (method: 'post' | 'put', path: string, body: object) =>
  request(service.app)[method](path).set('authorization', `Bearer ${admin}`).send(body);

describe('the extracted catalog service in dry-run', () => {
  it('answers a signed POST /api/v1/products as created, and keeps no product', async () => {
    const before = await products();
    const path = '/api/v1/products';
    const res = await write('post', path, { sku: 'FIG-101', name: 'Another fig', priceCents: 900, available: 3 })
      .set(shadowHeader, signShadowRequest(secret, { method: 'POST', path }))
      .expect(201);
    expect(res.headers['x-ficus-dry-run']).toBe('rolled-back');
    expect(res.body).toMatchObject({ sku: 'FIG-101', available: 3 });
    expect(await products()).toEqual(before);
  });

  it('answers a signed PUT of the stock with the new level, and keeps the old one', async () => {
    const path = `/api/v1/products/${product.id}/stock`;
    const res = await write('put', path, { available: 99 })
      .set(shadowHeader, signShadowRequest(secret, { method: 'PUT', path }))
      .expect(200);
    expect(res.body.available).toBe(99);
    const stored = await request(service.app).get(`/api/v1/products/${product.id}`).expect(200);
    expect(stored.body.available).toBe(7);
  });

  it('refuses a bad signature with 403 FICUS_ERR_SHADOW_SIGNATURE and changes nothing', async () => {
    const path = `/api/v1/products/${product.id}/stock`;
    const res = await write('put', path, { available: 1 })
      .set(shadowHeader, signShadowRequest('not-the-secret-of-this-service-at-all', { method: 'PUT', path }))
      .expect(403);
    expect(res.body.code).toBe('FICUS_ERR_SHADOW_SIGNATURE');
    const stored = await request(service.app).get(`/api/v1/products/${product.id}`).expect(200);
    expect(stored.body.available).toBe(7);
  });

  it('writes for real without the header', async () => {
    const path = `/api/v1/products/${product.id}/stock`;
    await write('put', path, { available: 5 }).expect(200);
    const stored = await request(service.app).get(`/api/v1/products/${product.id}`).expect(200);
    expect(stored.body.available).toBe(5);
  });
});
