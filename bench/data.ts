/**
 * npm run bench:data — `ficus data` on a million products, on an embedded PostgreSQL started for
 * the run (fsync and synchronous_commit off: figures for the replication code, not for disks):
 *   initial copy   startSync into an empty service database (products + stock_levels rows/s)
 *   verify         verifyData, chunked checksums by key range on both sides (rows/s)
 *   lag            500 stock updates/s on the source for BENCH_LOAD_SECONDS (20); a probe row is
 *                  updated with a marker and the target polled until it shows it: time from the
 *                  source's commit until visible on the target, p50 / p99
 * Source and target are two databases on one server, as in development.
 * Environment: BENCH_PRODUCTS (1000000), BENCH_LOAD_SECONDS (20), BENCH_UPDATES_PER_SECOND (500).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createDb, ensureDatabase, type Knex, migrateSchema, withDatabase } from '../platform/src/index.js';
import { migrations } from '../monolith/src/modules/catalog/migrations/index.js';
import { startEmbeddedPostgres } from '../tools/src/embedded-postgres.js';
import type { DataPair } from '../tools/src/data/pair.js';
import { dataStatus } from '../tools/src/data/status.js';
import { stopSync } from '../tools/src/data/stop.js';
import { startSync } from '../tools/src/data/sync.js';
import { verifyData } from '../tools/src/data/verify.js';
import { freePort } from '../test/kit/ports.js';

const products = Number(process.env['BENCH_PRODUCTS'] ?? 1_000_000);
const loadSeconds = Number(process.env['BENCH_LOAD_SECONDS'] ?? 20);
const updatesPerSecond = Number(process.env['BENCH_UPDATES_PER_SECOND'] ?? 500);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const number = (n: number) => Math.round(n).toLocaleString('en');
const results: string[] = [];
function report(what: string, figure: string, target: string, ok: boolean): void {
  results.push(`${what.padEnd(14)} ${figure.padEnd(44)} target ${target.padEnd(22)} ${ok ? 'ok' : 'MISSED'}`);
}

async function catalogDatabase(adminUrl: string, name: string): Promise<string> {
  await ensureDatabase(adminUrl, name);
  const url = withDatabase(adminUrl, name);
  const db = createDb(url, { poolMax: 1, searchPath: ['catalog'] });
  await migrateSchema(db, { schema: 'catalog', migrations });
  await db.destroy();
  return url;
}

async function seed(source: Knex): Promise<void> {
  const started = performance.now();
  await source.raw(
    `INSERT INTO catalog.products (sku, name, description, price_cents)
       SELECT 'SKU-' || g, 'Product ' || g, 'A product of the benchmark, number ' || g, 100 + g % 10000
         FROM generate_series(1, ?) g`,
    [products],
  );
  await source.raw('INSERT INTO catalog.stock_levels (product_id, available) SELECT id, 1000 FROM catalog.products');
  await source.raw('VACUUM ANALYZE catalog.products, catalog.stock_levels');
  console.log(
    `seeded ${number(products)} products and their stock levels in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

/** Stock changes at `updatesPerSecond` while a probe row measures how long a change takes to reach the target. */
async function lagUnderLoad(source: Knex, target: Knex, pair: DataPair): Promise<number[]> {
  const { rows } = await source.raw<{ rows: { id: string }[] }>(
    'SELECT product_id AS id FROM catalog.stock_levels ORDER BY random() LIMIT 20001',
  );
  const probe = rows.pop()!.id;
  const ids = rows.map((r) => r.id);
  const started = performance.now();
  const stopAt = started + loadSeconds * 1000;
  let sent = 0;
  let inFlight = 0;
  let failed = 0;
  const writer = setInterval(() => {
    const due = Math.floor(((performance.now() - started) / 1000) * updatesPerSecond);
    for (; sent < due && inFlight < 16; sent++) {
      inFlight++;
      source
        .raw('UPDATE catalog.stock_levels SET available = available + 1, updated_at = now() WHERE product_id = ?', [
          ids[sent % ids.length]!,
        ])
        .catch(() => failed++)
        .finally(() => inFlight--);
    }
  }, 5);
  const lags: number[] = [];
  let lastStatus = started;
  for (let marker = 1; performance.now() < stopAt; marker++) {
    await source.raw('UPDATE catalog.stock_levels SET available = ? WHERE product_id = ?', [marker, probe]);
    const committed = performance.now();
    for (;;) {
      const { rows: seen } = await target.raw<{ rows: { available: number }[] }>(
        'SELECT available FROM catalog.stock_levels WHERE product_id = ?',
        [probe],
      );
      if (seen[0]?.available === marker) break;
      await sleep(2);
    }
    lags.push(performance.now() - committed);
    if (performance.now() - lastStatus > 5_000) {
      lastStatus = performance.now();
      const { lag } = await dataStatus({ ...pair, say: () => undefined });
      console.log(
        `  under load: ${number(sent)} updates sent, lag ${number(lag?.bytes ?? 0)} bytes, replay_lag ${lag?.seconds ?? '—'} s`,
      );
    }
    await sleep(50);
  }
  clearInterval(writer);
  while (inFlight > 0) await sleep(10);
  const rate = sent / ((performance.now() - started) / 1000);
  console.log(`  ${number(sent)} stock updates (${number(rate)}/s, ${failed} failed), ${lags.length} lag samples`);
  return lags.sort((a, b) => a - b);
}

async function main(): Promise<void> {
  const base = await mkdtemp(join(tmpdir(), 'ficus-bench-data-'));
  const postgres = await startEmbeddedPostgres({
    dataDir: join(base, 'data'),
    port: await freePort(),
    logFile: join(base, 'postgres.log'),
    unsafeFast: true,
  });
  console.log(
    'embedded PostgreSQL with fsync=off, synchronous_commit=off, full_page_writes=off (unsafeFast), except\n' +
      'synchronous_commit=on (the default) in the monolith database: a walsender sends only WAL that is flushed,\n' +
      "and with it off a commit waits for the WAL writer's next round (wal_writer_delay, 200 ms) to be sent",
  );
  const sourceUrl = await catalogDatabase(postgres.url, 'bench_monolith');
  const admin = createDb(postgres.url, { poolMax: 1 });
  await admin.raw('ALTER DATABASE bench_monolith SET synchronous_commit = on');
  await admin.destroy();
  const pair: DataPair = {
    module: 'catalog',
    schema: 'catalog',
    sourceUrl,
    targetUrl: await catalogDatabase(postgres.url, 'bench_catalog'),
    say: (line) => console.log(`  ${line}`),
  };
  const source = createDb(pair.sourceUrl, { poolMax: 16 });
  const target = createDb(pair.targetUrl, { poolMax: 2 });
  try {
    await seed(source);
    const copied = await startSync(pair);
    const copiedRows = copied.tables.reduce((n, t) => n + t.rows, 0);
    const copyRate = copiedRows / copied.seconds;
    report(
      'initial copy',
      `${number(copiedRows)} rows in ${copied.seconds.toFixed(1)} s = ${number(copyRate)} rows/s`,
      '≥ 50,000 rows/s',
      copyRate >= 50_000,
    );
    const verified = await verifyData(pair);
    const verifiedRows = verified.tables.reduce((n, t) => n + t.sourceRows, 0);
    report(
      'verify',
      `${number(verifiedRows)} rows in ${verified.seconds.toFixed(1)} s = ${number(verified.rowsPerSecond)} rows/s`,
      '≥ 200,000 rows/s',
      verified.rowsPerSecond >= 200_000 && verified.equal,
    );
    if (!verified.equal) console.log('  verify found differences after the initial copy');
    console.log(`write load: ${updatesPerSecond} stock updates/s for ${loadSeconds} s`);
    const lags = await lagUnderLoad(source, target, pair);
    const p99 = percentile(lags, 0.99);
    report(
      'lag p50 / p99',
      `${percentile(lags, 0.5).toFixed(1)} ms / ${p99.toFixed(1)} ms (max ${lags.at(-1)!.toFixed(1)} ms)`,
      'p99 ≤ 1,000 ms',
      p99 <= 1_000,
    );
    const after = await verifyData({ ...pair, say: () => undefined });
    console.log(`verify after the load: ${after.equal ? 'equal' : 'DIFFERENCES'} (${after.seconds.toFixed(1)} s)`);
    await stopSync(pair);
  } finally {
    await Promise.all([source.destroy(), target.destroy()]);
    await postgres.stop();
    await rm(base, { recursive: true, force: true });
  }
  console.log(`\n${results.join('\n')}`);
}

await main();
