import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Knex, moduleDatabaseUrl, moduleRoleName } from '../../../platform/src/index.js';
import { moveWriter, type WriterSwitch } from '../../../tools/src/data/cutover.js';
import { writesAllowed } from '../../../tools/src/data/freeze.js';
import { replicationName } from '../../../tools/src/data/names.js';
import type { DataPair } from '../../../tools/src/data/pair.js';
import { stopSync } from '../../../tools/src/data/stop.js';
import { startSync } from '../../../tools/src/data/sync.js';
import { createServiceDatabase, createTestDatabase, type TestDatabase } from '../../kit/database.js';
import { eventually } from '../../kit/router.js';

let monolith: TestDatabase;
let service: { url: string; drop(): Promise<void> };
let source: Knex;
let target: Knex;
let pair: DataPair;
let back: DataPair;
let role: string;
const said: string[] = [];

/** A switch of our own interface that records what the cutover asked of it. */
function recordingSwitch(failFlip = false): WriterSwitch & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    flipped: async () => false,
    ready: async () => undefined,
    flip: async () => {
      calls.push('flip');
      if (failFlip) throw new Error('the flag store refused the change');
    },
  };
}

const stockOf = async (db: Knex) =>
  Number((await db('catalog.stock_levels').sum({ total: 'available' }).first())?.total ?? 0);

beforeAll(async () => {
  monolith = await createTestDatabase();
  role = moduleRoleName(monolith.config.DB_ROLE_PREFIX, 'catalog');
  service = await createServiceDatabase(monolith);
  const targetUrl = service.url;
  source = createDb(monolith.url, { poolMax: 2 });
  target = createDb(targetUrl, { poolMax: 2 });
  await source.raw(
    `INSERT INTO catalog.products (sku, name, price_cents) SELECT 'SKU-' || g, 'Product ' || g, 100 + g FROM generate_series(1, 20) g`,
  );
  await source.raw('INSERT INTO catalog.stock_levels (product_id, available) SELECT id, 1000 FROM catalog.products');
  pair = { module: 'catalog', schema: 'catalog', sourceUrl: monolith.url, targetUrl, say: (line) => said.push(line) };
  back = { ...pair, sourceUrl: targetUrl, targetUrl: monolith.url };
  await startSync(pair);
});

afterAll(async () => {
  // No slot may outlive the file: it keeps WAL on the shared test server and blocks DROP DATABASE.
  for (const p of [pair, back]) if (p) await stopSync(p).catch(() => undefined);
  await Promise.all([source?.destroy(), target?.destroy()]);
  await service?.drop();
  await monolith?.drop();
});

/** Stock taken one unit at a time as the module's own role, on `url`, until `stop()`: acknowledged and refused. */
function writeLoad(url: string, products: string[]) {
  const db = createDb(url, { poolMax: 4 });
  let running = true;
  const counts = { acknowledged: 0, refused: 0, other: 0 };
  const loop = async () => {
    while (running) {
      try {
        const productId = products[Math.floor(Math.random() * products.length)];
        const updated = await db('catalog.stock_levels')
          .where({ product_id: productId })
          .andWhere('available', '>', 0)
          .update({ available: db.raw('available - 1') });
        if (updated === 1) counts.acknowledged++;
      } catch (error) {
        if ((error as { code?: string }).code === '42501') counts.refused++;
        else counts.other++;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  };
  const workers = Promise.all([loop(), loop(), loop()]);
  return {
    counts,
    stop: async () => {
      running = false;
      await workers;
      await db.destroy();
    },
  };
}

describe('moving the catalog writer (ficus data cutover / revert)', () => {
  it('a failing step undoes the ones before it and leaves the monolith the writer, still replicating', async () => {
    const failing = recordingSwitch(true);
    await expect(moveWriter(pair, { role, switch: failing })).rejects.toThrow('the flag store refused the change');
    expect(failing.calls).toEqual(['flip']);
    expect(await writesAllowed(source, 'catalog', role)).toBe(true);
    const { rows } = await target.raw('SELECT subenabled FROM pg_subscription WHERE subname = ?', [
      replicationName(pair),
    ]);
    expect(rows).toEqual([{ subenabled: true }]);
    const { rows: reverse } = await source.raw('SELECT 1 FROM pg_subscription WHERE subname = ?', [
      replicationName(back),
    ]);
    expect(reverse).toEqual([]);
    expect(said.some((line) => line.includes('undone: freeze writes on the old writer'))).toBe(true);
  });

  it('replicates both ways during a move without echoing: a change made on either side reaches the other once', async () => {
    // As a cutover leaves it between the replication back and the switch (and a command killed there).
    await target.raw(`ALTER SUBSCRIPTION "${replicationName(pair)}" SET (origin = none)`);
    await startSync(back, { copyData: false });
    try {
      const [made] = await source('catalog.products')
        .insert({ sku: 'BOTH-1', name: 'From the monolith', price_cents: 100 })
        .returning<Array<{ id: string }>>('id');
      await target('catalog.products').insert({ sku: 'BOTH-2', name: 'From the service', price_cents: 100 });
      for (const db of [source, target])
        await eventually(
          async () => (await db('catalog.products').whereIn('sku', ['BOTH-1', 'BOTH-2'])).length === 2,
          5000,
          'both rows on both sides',
        );
      await source('catalog.products').where({ id: made!.id }).update({ name: 'Renamed' });
      await eventually(
        async () => (await target('catalog.products').where({ id: made!.id }).first('name'))?.name === 'Renamed',
        5000,
        'the update replicated',
      );
      // Neither apply worker met its own change coming back (it would stop on the duplicate key).
      await new Promise((resolve) => setTimeout(resolve, 300));
      for (const [db, name] of [
        [target, replicationName(pair)],
        [source, replicationName(back)],
      ] as const) {
        const { rows } = await db.raw(
          'SELECT apply_error_count::int AS errors FROM pg_stat_subscription_stats WHERE subname = ?',
          [name],
        );
        expect(rows, name).toEqual([{ errors: 0 }]);
      }
    } finally {
      await stopSync(back);
      await source('catalog.products').whereIn('sku', ['BOTH-1', 'BOTH-2']).delete();
      await eventually(
        async () => (await target('catalog.products').whereIn('sku', ['BOTH-1', 'BOTH-2'])).length === 0,
        5000,
        'cleaned up',
      );
    }
  });

  it('under writes: loses no acknowledged write, refuses only during the freeze, and replicates back; revert returns it all', async () => {
    const initial = await stockOf(source);
    const monolithRole = moduleDatabaseUrl(monolith.url, role, monolith.config.DB_ROLE_PASSWORD);
    const products = (await source('catalog.products').select('id')).map((p: { id: string }) => p.id);
    const load = writeLoad(monolithRole, products);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const moved = await moveWriter(pair, { role, switch: recordingSwitch() });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await load.stop();
    console.log(
      `cutover: ${load.counts.acknowledged} writes acknowledged, ${load.counts.refused} refused, freeze ${Math.round(moved.freezeMs)} ms`,
    );
    expect(load.counts.other).toBe(0);
    expect(load.counts.acknowledged).toBeGreaterThan(0);
    expect(moved.freezeMs).toBeLessThan(2000);
    // Every acknowledged write is in the new writer; the monolith stays frozen, a copy.
    expect(await stockOf(target)).toBe(initial - load.counts.acknowledged);
    expect(await writesAllowed(source, 'catalog', role)).toBe(false);
    // The new writer's changes reach the monolith.
    await target('catalog.stock_levels').update({ available: target.raw('available + 10') });
    await eventually(async () => (await stockOf(source)) === (await stockOf(target)), 5000, 'replicated back');

    const reverted = await moveWriter(back, { role, switch: recordingSwitch() });
    expect(reverted.freezeMs).toBeLessThan(2000);
    expect(await writesAllowed(source, 'catalog', role)).toBe(true);
    expect(await writesAllowed(target, 'catalog', role)).toBe(false);
    const again = writeLoad(monolithRole, products);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await again.stop();
    expect(again.counts.refused).toBe(0);
    await eventually(async () => (await stockOf(source)) === (await stockOf(target)), 5000, 'replicated forward again');
  });
});
