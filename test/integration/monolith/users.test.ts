import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestMonolith, type TestMonolith } from '../../kit/monolith.js';

let t: TestMonolith;
beforeAll(async () => {
  t = await startTestMonolith();
});
afterAll(() => t.close());

describe('users HTTP API', () => {
  it('registers an account, signs it in and returns it from /users/me', async () => {
    const created = await request(t.app)
      .post('/api/v1/users')
      .send({ email: 'Ada@Example.com', name: 'Ada', password: 'correct horse battery' })
      .expect(201);
    expect(created.body).toMatchObject({ email: 'Ada@Example.com', name: 'Ada', role: 'customer' });
    expect(created.body).not.toHaveProperty('password_hash');
    const signedIn = await request(t.app)
      .post('/api/v1/users/sign-in')
      .send({ email: 'ada@example.com', password: 'correct horse battery' })
      .expect(200);
    expect(signedIn.body).toMatchObject({ tokenType: 'Bearer', expiresIn: 3600 });
    const me = await request(t.app)
      .get('/api/v1/users/me')
      .set('authorization', `Bearer ${signedIn.body.token}`)
      .expect(200);
    expect(me.body.id).toBe(created.body.id);
  });

  it('stores an Argon2id hash, never the password', async () => {
    const row = await t.monolith.dbs.get('users')!('accounts').where({ email: 'customer@example.com' }).first();
    expect(row.password_hash).toMatch(/^\$argon2id\$/);
    expect(row.password_hash).not.toContain('ficus-customer-password');
  });

  it('refuses a second account with the same email in any case (409)', async () => {
    const res = await request(t.app)
      .post('/api/v1/users')
      .send({ email: 'CUSTOMER@example.com', name: 'Twin', password: 'long enough pw' })
      .expect(409);
    expect(res.body.code).toBe('FICUS_ERR_CONFLICT');
  });

  it('answers a wrong password and an unknown email with the same 401', async () => {
    const wrong = await request(t.app)
      .post('/api/v1/users/sign-in')
      .send({ email: 'customer@example.com', password: 'nope' })
      .expect(401);
    const unknown = await request(t.app)
      .post('/api/v1/users/sign-in')
      .send({ email: 'nobody@example.com', password: 'nope' })
      .expect(401);
    expect(wrong.body.detail).toBe(unknown.body.detail);
  });

  it('names each invalid field when registering', async () => {
    const res = await request(t.app)
      .post('/api/v1/users')
      .send({ email: 'not-an-email', name: '', password: 'short' })
      .expect(400);
    expect(res.body.errors.map((e: { pointer: string }) => e.pointer).sort()).toEqual(['/email', '/name', '/password']);
  });

  it('rejects /users/me without a token', async () => {
    await request(t.app).get('/api/v1/users/me').expect(401);
  });
});
