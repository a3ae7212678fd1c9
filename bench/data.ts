/**
 * `npm run bench:data`: `ficus data sync` and `verify` on a generated catalog of 1,000,000 rows
 * (500,000 products and their stock levels) between two databases of one embedded PostgreSQL,
 * then the replication lag under a write load of 500 stock updates/s. Prints rows/s and the lag
 * percentiles next to their targets. The server runs with fsync off (a throw-away cluster), as
 * in the tests; both databases share its two cores.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDb, ensureDatabase, migrateSchema, withDatabase } from '../platform/src/index.js';
import { catalogModule } from '../monolith/src/modules/catalog/index.js';
import { verifyData } from '../tools/src/data/inspect.js';
import { startSync, stopSync } from '../tools/src/data/sync.js';
import { startEmbeddedPostgres } from '../tools/src/embedded-postgres.js';
import { freePort } from '../test/kit/ports.js';

const products = Number(process.env['BENCH_PRODUCTS'] ?? 500_000);
const loadSeconds = Number(process.env['BENCH_LOAD_SECONDS'] ?? 20);
const updatesPerSecond = 500;

const base = await mkdtemp(join(tmpdir(), 'ficus-bench-data-'));
const postgres = await startEmbeddedPostgres({
  dataDir: join(base, 'data'),
  port: await freePort(),
  logFile: join(base, 'postgres.log'),
  unsafeFast: true,
});
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
try {
  for (const name of ['bench', 'bench_catalog']) await ensureDatabase(postgres.url, name);
  const pair = {
    module: 'catalog',
    schema: 'catalog',
    sourceUrl: withDatabase(postgres.url, 'bench'),
    targetUrl: withDatabase(postgres.url, 'bench_catalog'),
  };
  const source = createDb(pair.sourceUrl, { searchPath: ['catalog'], poolMax: 4 });
  const target = createDb(pair.targetUrl, { searchPath: ['catalog'], poolMax: 4 });
  for (const db of [source, target])
    await migrateSchema(db, { schema: 'catalog', migrations: catalogModule.migrations });
  process.stdout.write(`generating ${products} products and their stock levels...\n`);
  await source.raw(
    `INSERT INTO catalog.products (sku, name, description, price_cents)
       SELECT 'SKU-' || i, 'Product ' || i, repeat('x', 40), 100 + i % 10000 FROM generate_series(1, ?) i`,
    [products],
  );
  await source.raw('INSERT INTO catalog.stock_levels (product_id, available) SELECT id, 10 FROM catalog.products');
  await source.raw('ANALYZE');
  const rows = products * 2;

  let started = Date.now();
  await startSync(pair, { say: (line) => process.stdout.write(`${line}\n`) });
  const copySeconds = (Date.now() - started) / 1000;
  started = Date.now();
  const report = await verifyData(pair);
  const verifySeconds = (Date.now() - started) / 1000;
  if (report.differences.length) throw new Error(`verify found differences: ${JSON.stringify(report.differences[0])}`);

  process.stdout.write(`write load: ${updatesPerSecond} updates/s for ${loadSeconds} s, lag probed every 100 ms\n`);
  const ids = (await source('stock_levels').select('product_id').limit(10_000)).map((r) => r.product_id as string);
  const [probe] = ids;
  const loadStarted = Date.now();
  const deadline = loadStarted + loadSeconds * 1000;
  let updates = 0;
  // Ten rows every 20 ms, paced by the clock (a slow batch is made up for, not skipped).
  const writer = (async () => {
    for (let tick = 0; Date.now() < deadline; tick++) {
      const batch = Array.from({ length: updatesPerSecond / 50 }, (_, i) => ids[(tick * 10 + i) % ids.length]!);
      updates += await source('stock_levels').whereIn('product_id', batch).increment('available', 1);
      const next = loadStarted + (tick + 1) * 20;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - Date.now())));
    }
  })();
  const lags: number[] = [];
  for (let marker = 1_000_000; Date.now() < deadline; marker++) {
    await source('stock_levels').where({ product_id: probe }).update({ available: marker });
    const written = performance.now();
    while ((await target('stock_levels').where({ product_id: probe }).first()).available < marker) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    lags.push(performance.now() - written);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await writer;
  lags.sort((a, b) => a - b);
  await stopSync(pair);
  await Promise.all([source.destroy(), target.destroy()]);

  const line = (what: string, value: string, goal: string, ok: boolean) =>
    process.stdout.write(
      `${what.padEnd(34)} ${value.padStart(14)}   target ${goal.padEnd(14)} ${ok ? 'met' : 'NOT MET'}\n`,
    );
  process.stdout.write(`\nNode ${process.version}; ${rows} rows (${products} products + stock levels)\n`);
  line('initial copy', `${Math.round(rows / copySeconds)} rows/s`, '>= 50000 rows/s', rows / copySeconds >= 50_000);
  line('verify', `${Math.round(rows / verifySeconds)} rows/s`, '>= 200000 rows/s', rows / verifySeconds >= 200_000);
  process.stdout.write(
    `${`lag p50 (${lags.length} probes)`.padEnd(34)} ${`${percentile(lags, 50).toFixed(0)} ms`.padStart(14)}\n`,
  );
  process.stdout.write(
    `${'write load sustained'.padEnd(34)} ${`${Math.round(updates / loadSeconds)} updates/s`.padStart(14)}\n`,
  );
  line('lag p99 at 500 updates/s', `${percentile(lags, 99).toFixed(0)} ms`, '<= 1000 ms', percentile(lags, 99) <= 1000);
} finally {
  await postgres.stop();
  await rm(base, { recursive: true, force: true });
}
