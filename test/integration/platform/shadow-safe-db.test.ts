import { setTimeout as sleep } from 'node:timers/promises';
import { Router } from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDb,
  createHttpApp,
  createLogger,
  FicusError,
  isDryRun,
  type Knex,
  shadowHeader,
  signShadowRequest,
} from '../../../platform/src/index.js';
import { createTestDatabase, type TestDatabase } from '../../kit/database.js';

const secret = 'shadow-safe-db-test-secret-0123456789';
const logger = createLogger({ level: 'silent', name: 'test' });

let database: TestDatabase;
let admin: Knex;
let db: Knex;
let unregistered: Knex;
let app: ReturnType<typeof createHttpApp>['app'];

async function count(): Promise<number> {
  const [row] = await admin('notes').count<Array<{ count: string }>>('* as count');
  return Number(row!.count);
}

/** Sessions of the test database still inside a transaction: a dry-run request left open, or none. */
async function openTransactions(): Promise<number> {
  const { rows } = await admin.raw(
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
  );
  return rows[0].n as number;
}

async function settled(): Promise<void> {
  for (let i = 0; i < 100 && (await openTransactions()) > 0; i++) await sleep(20);
  expect(await openTransactions()).toBe(0);
}

function routes(): Router {
  const router = Router();
  const seen = async () => ({ dryRun: isDryRun(), rows: Number((await db('notes').count('* as count'))[0]!['count']) });
  router.post('/notes', async (_req, res) => {
    await db('notes').insert({ body: 'plain' });
    res.status(201).json(await seen());
  });
  router.post('/notes/nested', async (_req, res) => {
    await db.transaction(async (trx) => {
      await trx('notes').insert({ body: 'nested' });
    });
    res.status(201).json(await seen());
  });
  router.post('/notes/committed', async (_req, res) => {
    const trx = await db.transaction();
    await trx('notes').insert({ body: 'committed by hand' });
    await trx.commit();
    res.status(201).json(await seen());
  });
  router.post('/notes/failing', async () => {
    await db('notes').insert({ body: 'then a conflict' });
    throw new FicusError('FICUS_ERR_CONFLICT', 'the handler failed after writing');
  });
  router.post('/notes/slow', async (_req, res) => {
    await db('notes').insert({ body: 'slow' });
    await sleep(400);
    await db('notes').insert({ body: 'after the client left' });
    res.status(201).json(await seen());
  });
  router.post('/notes/elsewhere', async (_req, res) => {
    await unregistered('notes').insert({ body: 'through a knex the app was not given' });
    res.status(201).json({});
  });
  router.get('/probe', (_req, res) => {
    const raw = db as unknown as Record<string, unknown>;
    res.json({ dryRun: isDryRun(), commit: typeof raw['commit'], rollback: typeof raw['rollback'] });
  });
  return router;
}

beforeAll(async () => {
  database = await createTestDatabase({ migrate: false });
  admin = createDb(database.url, { poolMax: 2 });
  await admin.schema.createTable('notes', (t) => {
    t.increments('id');
    t.text('body').notNullable();
  });
  db = createDb(database.url, { poolMax: 3 });
  unregistered = createDb(database.url, { poolMax: 1 });
  app = createHttpApp({
    metricsPrefix: 'test',
    logger,
    bodyLimit: 1024,
    readiness: [],
    routes: [{ path: '/', router: routes() }],
    shadowSecret: secret,
    databases: [db],
  }).app;
});
afterAll(async () => {
  await Promise.all([db, unregistered, admin].map((knex) => knex?.destroy()));
  await database?.drop();
});

const shadow = (method: 'get' | 'post', path: string) =>
  request(app)[method](path).set(shadowHeader, signShadowRequest(secret, { method, path }));

describe('a shadow-safe knex in a signed shadow request', () => {
  it('runs the request in one transaction that sees its own writes and is rolled back', async () => {
    const before = await count();
    const res = await shadow('post', '/notes').expect(201);
    expect(res.headers['x-ficus-dry-run']).toBe('rolled-back');
    expect(res.body).toEqual({ dryRun: true, rows: before + 1 });
    expect(await count()).toBe(before);
    await settled();
  });

  it('makes db.transaction() a savepoint, so neither its end nor an explicit commit commits', async () => {
    const before = await count();
    expect((await shadow('post', '/notes/nested').expect(201)).body.rows).toBe(before + 1);
    expect((await shadow('post', '/notes/committed').expect(201)).body.rows).toBe(before + 1);
    expect(await count()).toBe(before);
    await settled();
  });

  it('keeps a transaction’s commit and rollback out of reach of the code', async () => {
    expect((await shadow('get', '/probe').expect(200)).body).toEqual({
      dryRun: true,
      commit: 'undefined',
      rollback: 'undefined',
    });
  });

  it('rolls back a request that fails after writing, answering its error as usual', async () => {
    const before = await count();
    const res = await shadow('post', '/notes/failing').expect(409);
    expect(res.body.code).toBe('FICUS_ERR_CONFLICT');
    expect(res.headers['x-ficus-dry-run']).toBe('rolled-back');
    expect(await count()).toBe(before);
    await settled();
  });

  it('rolls back when the client goes away mid-request, and what the handler writes after fails', async () => {
    const before = await count();
    await expect(shadow('post', '/notes/slow').timeout(100)).rejects.toThrow(/Timeout/);
    await sleep(600);
    expect(await count()).toBe(before);
    await settled();
  });

  it('refuses a knex the app was not given rather than write through it', async () => {
    const before = await count();
    const res = await shadow('post', '/notes/elsewhere').expect(500);
    expect(res.body.code).toBe('FICUS_ERR_INTERNAL');
    expect(await count()).toBe(before);
  });

  it('is the knex itself outside dry-run: an unsigned request writes', async () => {
    const before = await count();
    const res = await request(app).post('/notes').expect(201);
    expect(res.headers['x-ficus-dry-run']).toBeUndefined();
    expect(res.body).toEqual({ dryRun: false, rows: before + 1 });
    expect(await count()).toBe(before + 1);
    await request(app).post('/notes/committed').expect(201);
    expect(await count()).toBe(before + 2);
  });

  it('refuses a bad signature with 403 before running anything', async () => {
    const before = await count();
    const res = await request(app)
      .post('/notes')
      .set(shadowHeader, signShadowRequest(secret, { method: 'POST', path: '/notes/nested' }))
      .expect(403)
      .expect('content-type', /application\/problem\+json/);
    expect(res.body.code).toBe('FICUS_ERR_SHADOW_SIGNATURE');
    expect(res.headers['x-ficus-dry-run']).toBeUndefined();
    expect(await count()).toBe(before);
  });

  it('refuses, at startup, a database that is not shadow-safe', async () => {
    const { default: knexFactory } = await import('knex');
    const plain = knexFactory({ client: 'pg', connection: database.url });
    try {
      expect(() =>
        createHttpApp({
          metricsPrefix: 'plain',
          logger,
          bodyLimit: 1024,
          readiness: [],
          routes: [],
          databases: [plain],
        }),
      ).toThrow(/databases\[0\] of createHttpApp is not shadow-safe/);
    } finally {
      await plain.destroy();
    }
  });
});
