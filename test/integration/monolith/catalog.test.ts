import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestMonolith, type TestMonolith } from '../../kit/monolith.js';

let t: TestMonolith;
beforeAll(async () => {
  t = await startTestMonolith();
});
afterAll(() => t.close());

describe('catalog HTTP API', () => {
  it('lists the seeded products with price and stock', async () => {
    const res = await request(t.app).get('/api/v1/products').expect(200);
    expect(res.body.items.map((p: { sku: string }) => p.sku)).toEqual([
      'FIG-001',
      'FIG-002',
      'POT-010',
      'SOIL-05',
      'TOOL-01',
    ]);
    expect(res.body.items[0]).toMatchObject({
      name: 'Strangler fig sapling',
      priceCents: 2490,
      currency: 'EUR',
      available: 25,
    });
  });

  it('pages with limit and offset and rejects a limit out of range', async () => {
    const res = await request(t.app).get('/api/v1/products?limit=2&offset=1').expect(200);
    expect(res.body.items.map((p: { sku: string }) => p.sku)).toEqual(['FIG-002', 'POT-010']);
    const bad = await request(t.app).get('/api/v1/products?limit=0').expect(400);
    expect(bad.body.errors).toEqual([expect.objectContaining({ pointer: '/limit' })]);
  });

  it('gets one product, 404 for an unknown id, 400 naming the id when it is not a UUID', async () => {
    const { body } = await request(t.app).get('/api/v1/products').expect(200);
    const one = await request(t.app).get(`/api/v1/products/${body.items[1].id}`).expect(200);
    expect(one.body.sku).toBe('FIG-002');
    const missing = await request(t.app).get('/api/v1/products/00000000-0000-4000-8000-000000000000').expect(404);
    expect(missing.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(missing.body.code).toBe('FICUS_ERR_NOT_FOUND');
    const bad = await request(t.app).get('/api/v1/products/not-a-uuid').expect(400);
    expect(bad.body.errors[0].pointer).toBe('/id');
  });

  it('lets an admin create a product and set its stock', async () => {
    const admin = await t.token('admin');
    const created = await request(t.app)
      .post('/api/v1/products')
      .set('authorization', `Bearer ${admin}`)
      .send({ sku: 'FIG-900', name: 'Weeping fig', priceCents: 3100, available: 4 })
      .expect(201);
    expect(created.headers['location']).toBe(`/api/v1/products/${created.body.id}`);
    expect(created.body).toMatchObject({ sku: 'FIG-900', currency: 'EUR', available: 4 });
    const stocked = await request(t.app)
      .put(`/api/v1/products/${created.body.id}/stock`)
      .set('authorization', `Bearer ${admin}`)
      .send({ available: 40 })
      .expect(200);
    expect(stocked.body.available).toBe(40);
  });

  it('refuses a duplicate sku with 409', async () => {
    const admin = await t.token('admin');
    const res = await request(t.app)
      .post('/api/v1/products')
      .set('authorization', `Bearer ${admin}`)
      .send({ sku: 'FIG-001', name: 'Again', priceCents: 1 })
      .expect(409);
    expect(res.body.detail).toContain('FIG-001');
  });

  it('requires a token (401) and the admin role (403) to change the catalog', async () => {
    const body = { sku: 'X-1', name: 'x', priceCents: 1 };
    const anonymous = await request(t.app).post('/api/v1/products').send(body).expect(401);
    expect(anonymous.body.code).toBe('FICUS_ERR_UNAUTHORIZED');
    const customer = await t.token('customer');
    const forbidden = await request(t.app)
      .post('/api/v1/products')
      .set('authorization', `Bearer ${customer}`)
      .send(body)
      .expect(403);
    expect(forbidden.body.code).toBe('FICUS_ERR_FORBIDDEN');
    const forged = await request(t.app)
      .post('/api/v1/products')
      .set('authorization', 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.x')
      .send(body)
      .expect(401);
    expect(forged.body.detail).toContain('invalid');
  });
});
