import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, databaseName, type Knex } from '../../../platform/src/index.js';
import { formatStatus, formatVerify } from '../../../tools/src/data/format.js';
import { replicationName } from '../../../tools/src/data/names.js';
import type { DataPair } from '../../../tools/src/data/pair.js';
import { dataStatus } from '../../../tools/src/data/status.js';
import { stopSync } from '../../../tools/src/data/stop.js';
import { startSync } from '../../../tools/src/data/sync.js';
import { verifyData } from '../../../tools/src/data/verify.js';
import { createServiceDatabase, createTestDatabase, type TestDatabase } from '../../kit/database.js';
import { spawnNode, waitFor } from '../../kit/processes.js';

let monolith: TestDatabase;
let service: { url: string; drop(): Promise<void> };
let source: Knex;
let target: Knex;
let pair: DataPair;
const said: string[] = [];

/** A table with a serial key in both databases: the catalog's own tables have uuid keys and no sequences. */
const sequenceTable = 'CREATE TABLE catalog.labels (id serial PRIMARY KEY, label text NOT NULL)';

beforeAll(async () => {
  monolith = await createTestDatabase();
  service = await createServiceDatabase(monolith);
  const targetUrl = service.url;
  source = createDb(monolith.url, { poolMax: 2 });
  target = createDb(targetUrl, { poolMax: 2 });
  await source.raw(sequenceTable);
  await target.raw(sequenceTable);
  await source.raw(
    `INSERT INTO catalog.products (sku, name, price_cents)
       SELECT 'SKU-' || g, 'Product ' || (g % 40), 100 + g FROM generate_series(1, 50) g`,
  );
  await source.raw('INSERT INTO catalog.stock_levels (product_id, available) SELECT id, 10 FROM catalog.products');
  await source.raw(`INSERT INTO catalog.reservations (reference) SELECT 'order-' || g FROM generate_series(1, 5) g`);
  await source.raw(
    `INSERT INTO catalog.reservation_lines (reservation_id, product_id, quantity, unit_price_cents)
       SELECT r.id, p.id, 1, p.price_cents FROM catalog.reservations r CROSS JOIN LATERAL
         (SELECT id, price_cents FROM catalog.products ORDER BY sku LIMIT 3) p`,
  );
  await source.raw(`INSERT INTO catalog.labels (label) VALUES ('a'), ('b'), ('c')`);
  pair = { module: 'catalog', schema: 'catalog', sourceUrl: monolith.url, targetUrl, say: (line) => said.push(line) };
});

afterAll(async () => {
  // No slot may outlive the file: a slot keeps WAL on the shared test server, and blocks DROP DATABASE.
  if (pair) await stopSync(pair).catch(() => undefined);
  await Promise.all([source?.destroy(), target?.destroy()]);
  await service?.drop();
  await monolith?.drop();
});

/** This pair's publication, slots (its own and the table-copy ones) and subscription, wherever they are. */
async function replicationObjects(): Promise<string[]> {
  const name = replicationName(pair);
  const { rows: publications } = await source.raw('SELECT pubname FROM pg_publication WHERE pubname = ?', [name]);
  const { rows: slots } = await source.raw(
    "SELECT slot_name FROM pg_replication_slots WHERE slot_name = ? OR (slot_name LIKE 'pg\\_%\\_sync\\_%' AND database = ?)",
    [name, databaseName(monolith.url)],
  );
  const { rows: subscriptions } = await target.raw('SELECT subname FROM pg_subscription WHERE subname = ?', [name]);
  return [
    ...publications.map((r: { pubname: string }) => `publication ${r.pubname}`),
    ...slots.map((r: { slot_name: string }) => `slot ${r.slot_name}`),
    ...subscriptions.map((r: { subname: string }) => `subscription ${r.subname}`),
  ];
}

const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: { code?: string; message: string }) => error,
  );

describe('ficus data: logical replication of a module schema into its service database', () => {
  it('refuses a source column the target lacks, naming it, and creates nothing', async () => {
    await source.raw('ALTER TABLE catalog.products ADD COLUMN colour text');
    try {
      const error = await rejection(startSync(pair));
      expect(error.code).toBe('FICUS_ERR_DATA_SETUP');
      expect(error.message).toContain('products.colour (text) is missing on the target');
      expect(error.message).toContain('ficus db migrate');
      expect(await replicationObjects()).toEqual([]);
    } finally {
      await source.raw('ALTER TABLE catalog.products DROP COLUMN colour');
    }
  });

  it('removes everything it made when the initial copy fails on the target', async () => {
    // Product names repeat on the source (g % 40): a unique index only the target has breaks the copy.
    await target.raw('CREATE UNIQUE INDEX products_name_unique ON catalog.products (name)');
    try {
      const error = await rejection(startSync(pair, { copyTimeoutMs: 20_000 }));
      expect(error.code).toBe('FICUS_ERR_DATA_SYNC');
      expect(error.message).toContain('catalog.products');
      expect(await replicationObjects()).toEqual([]);
    } finally {
      await target.raw('DROP INDEX catalog.products_name_unique');
    }
  });

  it('refuses target tables that hold rows unless told to reset them', async () => {
    await target.raw(`INSERT INTO catalog.labels (id, label) VALUES (1000, 'stale')`);
    const error = await rejection(startSync(pair));
    expect(error.code).toBe('FICUS_ERR_DATA_SETUP');
    expect(error.message).toMatch(/already has rows in .*catalog\.labels.*--reset/s);
    expect(await replicationObjects()).toEqual([]);
  });

  it('copies the existing rows, one progress line per table, then streams changes within a second', async () => {
    said.length = 0;
    const result = await startSync(pair, { reset: true });
    expect(result.alreadySyncing).toBe(false);
    expect(result.tables.map((t) => [t.table, t.rows]).sort()).toEqual([
      ['labels', 3],
      ['products', 50],
      ['reservation_lines', 15],
      ['reservations', 5],
      ['stock_levels', 50],
    ]);
    expect(said).toContainEqual(expect.stringMatching(/^copied catalog\.products: 50 rows in \d+\.\d s$/));
    const { rows } = await target.raw('SELECT count(*)::int AS n FROM catalog.products');
    expect(rows[0].n).toBe(50);

    const written = Date.now();
    await source.raw(`INSERT INTO catalog.products (sku, name, price_cents) VALUES ('NEW-1', 'New', 999)`);
    await source.raw(`UPDATE catalog.stock_levels SET available = 77 WHERE product_id =
                        (SELECT id FROM catalog.products WHERE sku = 'SKU-1')`);
    await waitFor(
      async () => {
        const { rows: seen } = await target.raw(
          `SELECT (SELECT count(*) FROM catalog.products WHERE sku = 'NEW-1')::int AS inserted,
                  (SELECT available FROM catalog.stock_levels s JOIN catalog.products p ON p.id = s.product_id
                    WHERE p.sku = 'SKU-1') AS available`,
        );
        return seen[0].inserted === 1 && seen[0].available === 77 ? true : undefined;
      },
      1_000,
      () => 'the insert and the update on the source to appear on the target',
      10,
    );
    expect(Date.now() - written).toBeLessThan(1_000);
  });

  it('changes nothing when asked to sync a pair that is already syncing', async () => {
    said.length = 0;
    const result = await startSync(pair);
    expect(result.alreadySyncing).toBe(true);
    expect(said.join('\n')).toContain('already syncing');
  });

  it('reports every table ready, the rows on both sides and the lag', async () => {
    const status = await dataStatus(pair);
    expect(status.state).toBe('streaming');
    expect(status.subscription).toEqual({ enabled: true, workerRunning: true, applyErrors: 0, syncErrors: 0 });
    expect(status.tables.map((t) => t.state)).toEqual(Array(5).fill('ready'));
    const products = status.tables.find((t) => t.table === 'products')!;
    expect([products.sourceRows, products.targetRows, products.estimated]).toEqual([51, 51, false]);
    expect(status.lag!.bytes).toBeGreaterThanOrEqual(0);
    expect(status.lag!.seconds).toBeGreaterThanOrEqual(0);
    expect(status.lag!.seconds).toBeLessThan(1);
    expect(formatStatus(status)).toMatch(/^products +ready +51 +51$/m);
  });

  it('verifies the two sides equal, and lists and fixes the sequences replication leaves behind', async () => {
    const result = await verifyData(pair, { chunkRows: 7 });
    expect(result.equal).toBe(true);
    expect(result.tables.every((t) => t.sourceRows === t.targetRows)).toBe(true);
    expect(result.sequences).toEqual([
      expect.objectContaining({
        table: 'labels',
        column: 'id',
        source: '3',
        target: null,
        onTarget: true,
        behind: true,
      }),
    ]);
    const fixed = await verifyData(pair, { fixSequences: true });
    expect(fixed.sequences[0]).toMatchObject({ fixedTo: '3', target: '3', behind: false });
    const { rows } = await target.raw(`SELECT nextval('catalog.labels_id_seq')::int AS next`);
    expect(rows[0].next).toBe(4);
  });

  it('names the table, key range and keys of rows changed in the target behind replication', async () => {
    const { rows: products } = await target.raw(`SELECT id FROM catalog.products WHERE sku = 'SKU-7'`);
    await target.raw(`UPDATE catalog.products SET price_cents = 1 WHERE sku = 'SKU-7'`);
    const { rows: lines } = await target.raw(
      'DELETE FROM catalog.reservation_lines WHERE ctid = (SELECT min(ctid) FROM catalog.reservation_lines) RETURNING *',
    );
    const result = await verifyData(pair, { chunkRows: 4 });
    expect(result.equal).toBe(false);
    const changed = result.tables.find((t) => t.table === 'products')!;
    expect(changed.differences).toHaveLength(1);
    expect(changed.differences[0]).toMatchObject({
      changed: [[products[0].id]],
      missingOnTarget: [],
      onlyOnTarget: [],
    });
    expect(changed.differences[0]!.source.rows).toBe(changed.differences[0]!.target.rows);
    const missing = result.tables.find((t) => t.table === 'reservation_lines')!;
    expect(missing.sourceRows - missing.targetRows).toBe(1);
    expect(missing.differences[0]!.missingOnTarget).toEqual([[lines[0].reservation_id, lines[0].product_id]]);
    expect(result.tables.filter((t) => !t.equal).map((t) => t.table)).toEqual(['products', 'reservation_lines']);
    const report = formatVerify(result);
    expect(report).toMatch(
      /^products: id from (the first|\S+) to (\S+ \(exclusive\)|the last): source (\d+) rows checksum \d+, target \3 rows checksum \d+$/m,
    );
    expect(report).toContain(`changed: ${products[0].id}`);
    expect(report).toContain(`missing on the target: (${lines[0].reservation_id}, ${lines[0].product_id})`);
  });

  it('names an unreachable target database, without its password', async () => {
    const unreachable = { ...pair, targetUrl: 'postgres://postgres:secret@127.0.0.1:1/ficus_catalog' };
    const error = await rejection(startSync(unreachable));
    expect(error.code).toBe('FICUS_ERR_DATA_SETUP');
    expect(error.message).toContain('postgres://postgres@127.0.0.1:1/ficus_catalog');
    expect(error.message).not.toContain('secret');
  });

  it('stops, leaving no subscription, slot or publication, and says so when run again', async () => {
    const stopped = await stopSync(pair);
    expect(stopped.removed).toEqual([
      `subscription ${stopped.name} on the target`,
      `replication slot ${stopped.name} on the source`,
      `publication ${stopped.name} on the source`,
    ]);
    expect(await replicationObjects()).toEqual([]);
    said.length = 0;
    expect((await stopSync(pair)).removed).toEqual([]);
    expect(said.join('\n')).toContain('not syncing');
    expect((await dataStatus(pair)).state).toBe('not syncing');
  });

  it('exits 2 from the command line when the source cannot be reached', async () => {
    const proc = spawnNode(
      ['tools/bin/ficus.mjs', 'data', 'sync', 'nosuch', '--source', 'postgres://u:secret@127.0.0.1:1/app'],
      {},
    );
    expect(await proc.exited).toBe(2);
    expect(proc.output()).toContain('FICUS_ERR_DATA_SETUP');
    expect(proc.output()).toContain('postgres://u@127.0.0.1:1/app');
  });
});
