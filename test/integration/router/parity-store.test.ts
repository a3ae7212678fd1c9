import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb } from '../../../platform/src/index.js';
import { PgParityStore } from '../../../router/src/shadow/pg-store.js';
import { buildReport } from '../../../router/src/shadow/report.js';
import { type Example, examplesPerField, type ParityBatch } from '../../../router/src/shadow/store.js';
import { createTestDatabase, type TestDatabase } from '../../kit/database.js';
import { freePort } from '../../kit/ports.js';

const endpoint = 'GET /api/v1/products/:id';
const minuteOf = (at: number) => at - (at % 60_000);

const endpoints = Array.from({ length: 10 }, (_, i) => `GET /api/v1/products/:id/part-${i}`);

/** One flush of a router: `match` and `differ` samples spread over the endpoints. */
function batch(minute: number, match: number, differ: number, order: 'forward' | 'reverse' = 'forward'): ParityBatch {
  const share = (n: number, i: number) => Math.floor(n / endpoints.length) + (i < n % endpoints.length ? 1 : 0);
  const counts = endpoints.flatMap((endpoint, i) => [
    { route: 'catalog-read', endpoint, minute, name: 'match', count: share(match, i) },
    { route: 'catalog-read', endpoint, minute, name: 'differ', count: share(differ, i) },
    { route: 'catalog-read', endpoint, minute, name: 'noise-samples', count: share(match, i) + share(differ, i) },
  ]);
  const fields = endpoints.flatMap((endpoint, i) => [
    {
      route: 'catalog-read',
      endpoint,
      minute,
      field: '$.price',
      kind: 'value' as const,
      raw: share(differ, i),
      noise: 0,
      flagged: share(differ, i),
    },
    {
      route: 'catalog-read',
      endpoint,
      minute,
      field: '$.at',
      kind: 'value' as const,
      raw: share(match, i),
      noise: share(match, i),
      flagged: 0,
    },
  ]);
  // Routers flush rows in the order they met them: two routers may write the same rows in opposite orders.
  if (order === 'reverse') {
    counts.reverse();
    fields.reverse();
  }
  return { counts, fields, examples: [] };
}

let next = 0;
function example(field = '$.price', at = Date.now()): Example {
  return {
    id: `ex_test${next++}`,
    at,
    route: 'catalog-read',
    endpoint,
    field,
    kind: 'value',
    method: 'GET',
    path: '/api/v1/products/42',
    request: { headers: { accept: 'application/json', authorization: '[redacted]' } },
    primary: {
      upstream: 'monolith',
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: { price: 10 },
    },
    candidate: {
      upstream: 'catalog',
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: { price: 11 },
    },
    differences: [{ kind: 'value', path: '$.price', field: '$.price', primary: 10, candidate: 11 }],
  };
}

describe('PgParityStore', () => {
  let db: TestDatabase;
  const stores: PgParityStore[] = [];
  const store = () => {
    const made = new PgParityStore(db.url);
    stores.push(made);
    return made;
  };

  beforeAll(async () => {
    db = await createTestDatabase({ migrate: false });
  });
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await db.drop();
  });

  it('creates its tables once when two routers start at the same moment', async () => {
    const [a, b] = [store(), store()];
    const reads = await Promise.all([a.read({}), b.read({}), a.read({}), b.read({})]);
    for (const read of reads) expect(read).toEqual({ counts: [], fields: [], examples: [] });
    const knex = createDb(db.url, { poolMax: 1 });
    try {
      const { rows } = await knex.raw(
        "select table_name from information_schema.tables where table_schema = 'ficus_router' order by table_name",
      );
      expect(rows.map((r: { table_name: string }) => r.table_name)).toEqual([
        'parity_counts',
        'parity_examples',
        'parity_fields',
      ]);
    } finally {
      await knex.destroy();
    }
  });

  it('adds up the batches of routers writing at once, whatever order their rows are in', async () => {
    const routers = Array.from({ length: 4 }, store);
    const minute = minuteOf(Date.now());
    // Each router flushes one batch at a time, as its recorder does; the routers run side by side.
    const flushes = async (s: PgParityStore, i: number) => {
      const failed: string[] = [];
      for (let round = 0; round < 25; round++) {
        const [match, differ] = i % 2 ? [8, 2] : [9, 1];
        const written = batch(minute, match, differ, i % 2 ? 'reverse' : 'forward');
        await s.write(written).catch((error: Error) => failed.push(error.message));
      }
      return failed;
    };
    const failed = await Promise.all(routers.map(flushes));
    expect(failed.flat()).toEqual([]);
    const [parity] = buildReport(await routers[0]!.read({ route: 'catalog-read' }));
    expect(parity).toMatchObject({ compared: 1000, match: 850, differ: 150, noiseSamples: 1000, matchRate: 0.85 });
    expect(parity!.endpoints).toHaveLength(endpoints.length);
    expect(parity!.differences).toEqual([expect.objectContaining({ field: '$.price', raw: 150, flagged: 150 })]);
    expect(parity!.noise).toEqual([expect.objectContaining({ field: '$.at', raw: 850, noise: 850 })]);
    expect(await routers[1]!.read({ route: 'catalog-read' })).toEqual(
      await routers[0]!.read({ route: 'catalog-read' }),
    );
  });

  it('reads only the minutes from `since` on', async () => {
    const s = store();
    const now = minuteOf(Date.now());
    const hourAgo = now - 60 * 60_000;
    await s.write({
      ...batch(hourAgo, 0, 0),
      counts: [{ route: 'old', endpoint, minute: hourAgo, name: 'match', count: 5 }],
    });
    await s.write({ ...batch(now, 0, 0), counts: [{ route: 'old', endpoint, minute: now, name: 'match', count: 2 }] });
    const count = async (since?: number) =>
      (await s.read({ route: 'old', since })).counts.reduce((sum, row) => sum + row.count, 0);
    expect(await count()).toBe(7);
    expect(await count(now)).toBe(2);
    expect(await count(hourAgo)).toBe(7);
    expect(await count(hourAgo + 60_000)).toBe(2);
    expect(await count(now + 60_000)).toBe(0);
  });

  it('keeps at most examplesPerField examples per route, field and kind across routers', async () => {
    const [a, b] = [store(), store()];
    await a.write({ counts: [], fields: [], examples: [example('$.total'), example('$.total'), example('$.total')] });
    await b.write({ counts: [], fields: [], examples: [example('$.total'), example('$.total'), example('$.total')] });
    await a.write({ counts: [], fields: [], examples: [example('$.name')] });
    const kept = (await a.read({ route: 'catalog-read' })).examples;
    expect(kept.filter((e) => e.field === '$.total')).toHaveLength(examplesPerField);
    expect(kept.filter((e) => e.field === '$.name')).toHaveLength(1);
  });

  it('keeps the cap when routers write examples of one field at the same moment', async () => {
    const routers = Array.from({ length: 8 }, store);
    // Connected first, so the writes below really start together.
    await Promise.all(routers.map((s) => s.read({})));
    for (const field of ['$.stock', '$.colour', '$.size']) {
      await Promise.all(
        routers.map((s) =>
          s.write({ counts: [], fields: [], examples: [example(field), example(field), example(field)] }),
        ),
      );
      const kept = (await routers[0]!.read({ route: 'catalog-read' })).examples;
      expect(
        kept.filter((e) => e.field === field),
        field,
      ).toHaveLength(examplesPerField);
    }
  });

  it('gives an example back whole by its id, and nothing for an unknown id', async () => {
    const s = store();
    const kept = example('$.weight', Date.parse('2025-03-01T10:00:00.000Z'));
    await s.write({ counts: [], fields: [], examples: [kept] });
    expect(await s.example(kept.id)).toEqual(kept);
    expect(await s.example('ex_nope')).toBeUndefined();
    const [listed] = (await s.read({ route: 'catalog-read' })).examples.filter((e) => e.id === kept.id);
    expect(listed).toEqual({
      id: kept.id,
      at: kept.at,
      route: 'catalog-read',
      endpoint,
      field: '$.weight',
      kind: 'value',
    });
  });
});

describe('PgParityStore with its database down', () => {
  it('is made without connecting, and rejects writes and reads so the recorder counts them lost', async () => {
    const port = await freePort();
    const s = new PgParityStore(`postgres://ficus:ficus@127.0.0.1:${port}/ficus`);
    try {
      expect(s.description).toBe(`postgresql 127.0.0.1:${port}/ficus`);
      await expect(s.write(batch(minuteOf(Date.now()), 1, 0))).rejects.toThrow(/ECONNREFUSED/);
      // Tried again at the next write, not given up on.
      await expect(s.read({})).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      await s.close();
    }
  });
});
