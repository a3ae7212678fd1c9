import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import {
  createDb,
  dropDatabase,
  ensureDatabase,
  type Knex,
  migrateSchema,
  withDatabase,
} from '../../../platform/src/index.js';
import { catalogModule } from '../../../monolith/src/modules/catalog/index.js';
import { verifyData } from '../../../tools/src/data/inspect.js';
import { type DataPair, replicationName } from '../../../tools/src/data/pair.js';
import { startSync, stopSync } from '../../../tools/src/data/sync.js';
import { createTestDatabase, type TestDatabase } from '../../kit/database.js';
import { spawnNode } from '../../kit/processes.js';

let monolith: TestDatabase;
let targetName: string;
let pair: DataPair;
let source: Knex;
let target: Knex;

const leftovers = async () => ({
  publications: (await source.raw('SELECT 1 FROM pg_publication WHERE pubname = ?', [replicationName(pair)])).rowCount,
  slots: (await source.raw('SELECT 1 FROM pg_replication_slots WHERE slot_name LIKE ?', [`%${replicationName(pair)}%`]))
    .rowCount,
  subscriptions: (await target.raw('SELECT 1 FROM pg_subscription WHERE subname = ?', [replicationName(pair)]))
    .rowCount,
});
const nothingLeft = { publications: 0, slots: 0, subscriptions: 0 };
const ficus = (...args: string[]) =>
  spawnNode(['tools/bin/ficus.mjs', 'data', ...args, '--source', pair.sourceUrl, '--target', pair.targetUrl], {});

beforeAll(async () => {
  monolith = await createTestDatabase();
  targetName = `${monolith.url.split('/').pop()}_catalog`;
  await ensureDatabase(inject('adminUrl'), targetName);
  pair = {
    module: 'catalog',
    schema: 'catalog',
    sourceUrl: monolith.url,
    targetUrl: withDatabase(monolith.url, targetName),
  };
  source = createDb(pair.sourceUrl, { searchPath: ['catalog'] });
  target = createDb(pair.targetUrl, { searchPath: ['catalog'] });
  await migrateSchema(target, { schema: 'catalog', migrations: catalogModule.migrations });
  await catalogModule.seed!(source);
});

afterAll(async () => {
  await stopSync(pair).catch(() => undefined);
  await Promise.all([source.destroy(), target.destroy()]);
  await dropDatabase(inject('adminUrl'), targetName);
  await monolith.drop();
});

describe('ficus data on two databases of one server', () => {
  it('refuses a service schema that differs, naming the column, and leaves nothing behind', async () => {
    await source.raw('ALTER TABLE catalog.products ADD COLUMN colour text');
    try {
      const sync = ficus('sync', 'catalog');
      expect(await sync.exited).toBe(2);
      expect(sync.output()).toContain('catalog.products.colour (text) is missing in the service database');
      expect(await leftovers()).toEqual(nothingLeft);
    } finally {
      await source.raw('ALTER TABLE catalog.products DROP COLUMN colour');
    }
  });

  it('copies the module, streams changes, verifies equal, then names a range changed behind its back', async () => {
    const lines: string[] = [];
    expect(await startSync(pair, { say: (line) => lines.push(line) })).toBe('started');
    expect(lines.join('\n')).toMatch(/catalog\.products: copied 5 rows/);
    expect(await startSync(pair)).toBe('running');

    const [product] = await source('stock_levels').select('product_id');
    await source('stock_levels').where({ product_id: product.product_id }).update({ available: 4242 });
    const started = Date.now();
    while ((await target('stock_levels').where({ product_id: product.product_id }).first()).available !== 4242) {
      expect(Date.now() - started).toBeLessThan(1000);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }

    const equal = ficus('verify', 'catalog');
    expect(await equal.exited, equal.output()).toBe(0);
    expect(equal.output()).toMatch(/catalog\.products +equal/);

    await target('stock_levels').where({ product_id: product.product_id }).update({ available: 1 });
    const report = await verifyData(pair, { chunkRows: 2, lagTimeoutMs: 500 });
    expect(report.differences.map((d) => d.table)).toEqual(['catalog.stock_levels']);
    const [difference] = report.differences;
    expect(difference!.range).toMatch(/^product_id (from|below) /);
    const differing = ficus('verify', 'catalog');
    expect(await differing.exited).toBe(1);
    expect(differing.output()).toContain('catalog.stock_levels product_id');
  });

  it('stops with no publication, slot or subscription left', async () => {
    const stop = ficus('stop', 'catalog');
    expect(await stop.exited, stop.output()).toBe(0);
    expect(stop.output()).toContain(`subscription ${replicationName(pair)}`);
    expect(await leftovers()).toEqual(nothingLeft);
  });

  it('exits 2 naming the database when the service database cannot be reached', async () => {
    const proc = spawnNode(
      [
        'tools/bin/ficus.mjs',
        'data',
        'sync',
        'catalog',
        '--source',
        pair.sourceUrl,
        '--target',
        'postgres://x:secret@127.0.0.1:1/none',
      ],
      {},
    );
    expect(await proc.exited).toBe(2);
    expect(proc.output()).toContain("cannot reach the service's database at postgres://x:***@127.0.0.1:1/none");
    expect(proc.output()).not.toContain('secret');
  });
});
