/**
 * npm run bench:replay — comparisons per second of `ficus replay` on a capture of 100,000
 * exchanges (GET /api/v1/products/<id>, JSON bodies of ~400–500 bytes, route catalog-read),
 * replayed on a local candidate answering the same bytes, so every exchange compares equal:
 *   requests alone       the same requests from the same file with an undici pool and nothing
 *                        else (read, parse, send, read the answer): the baseline of the run
 *   ficus replay         the command as shipped (--concurrency 32, comparisons on the main thread)
 *   --threads 1          comparisons in a worker thread
 *   --concurrency 8/128  fewer and more requests in flight
 *   --primary            the serving upstream asked again per exchange, to learn noise (two
 *                        requests per comparison)
 * Each run is its own `node tools/bin/ficus.mjs replay ... --json` process; comparisons/s is
 * the command's own figure. With two cores and taskset, the replaying process gets core 1 and
 * the candidate and primary servers share core 0 with this script (idle while a run goes).
 * Environment: BENCH_EXCHANGES (100000), BENCH_ROUNDS (1).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Pool } from 'undici';
import type { CapturedExchange } from '../router/src/shadow/capture.js';
import { pinned, pinning, startServer, stopServers } from './processes.js';
import { productBody } from './products.js';

const target = 5000;

/** Child mode: the baseline client, the replay's requests without the comparison. */
async function requestsAlone(file: string, url: string, concurrency: number): Promise<void> {
  const pool = new Pool(url, { connections: concurrency });
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY })[
    Symbol.asyncIterator
  ]();
  const started = performance.now();
  let done = 0;
  const worker = async () => {
    for (;;) {
      const next = await lines.next();
      if (next.done) return;
      const exchange = JSON.parse(next.value) as CapturedExchange;
      const headers = Object.entries(exchange.headers).flatMap(([name, value]) =>
        name === 'host' ? [] : [name, value],
      );
      const response = await pool.request({ method: 'GET', path: exchange.path, headers });
      await response.body.arrayBuffer();
      done++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  process.stdout.write(
    `${JSON.stringify({ replayed: done, seconds, comparisonsPerSecond: Math.round(done / seconds) })}\n`,
  );
}

if (process.argv[2] === 'requests-alone') {
  await requestsAlone(process.argv[3]!, process.argv[4]!, Number(process.argv[5]));
  process.exit(0);
}

const exchanges = Number(process.env['BENCH_EXCHANGES'] ?? 100_000);
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 1);

/** A capture as the router writes it (see router/src/shadow/capture.ts), for `count` product reads. */
async function writeCapture(file: string, count: number, upstreamHost: string): Promise<void> {
  const out = createWriteStream(file);
  const at = Date.parse('2026-03-02T09:00:00Z');
  for (let i = 0; i < count; i++) {
    // Ids spread over 20,000 products, popular ones more often, as real catalogue reads are.
    const id = 1 + ((i * 7919) % (i % 3 === 0 ? 500 : 20_000));
    const body = Buffer.from(productBody(id));
    const exchange: CapturedExchange = {
      v: 1,
      at: new Date(at + i * 3).toISOString(),
      route: 'catalog-read',
      method: 'GET',
      path: `/api/v1/products/${id}`,
      headers: {
        host: upstreamHost,
        'x-user-id': `user-${i % 5000}`,
        accept: 'application/json',
        'user-agent':
          'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
        'accept-language': 'en-GB,en;q=0.9',
        'accept-encoding': 'gzip, deflate, br',
        authorization: '[redacted]',
        'x-forwarded-for': `10.1.${(i >> 8) % 256}.${i % 256}`,
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'shop.example.com',
        'x-request-id': `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
        traceparent: `00-${i.toString(16).padStart(32, '0')}-${(i * 31).toString(16).padStart(16, '0')}-01`,
      },
      response: {
        upstream: 'monolith',
        status: 200,
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'content-length': String(body.length),
          date: new Date(at + i * 3).toUTCString(),
          connection: 'keep-alive',
          'keep-alive': 'timeout=5',
        },
        body: body.toString('base64'),
        length: body.length,
      },
    };
    if (!out.write(`${JSON.stringify(exchange)}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/** The candidate (and primary) server: product answers, on core 0. */
const startCatalog = async () => (await startServer(['catalog'], 0)).url;

interface RunResult {
  replayed: number;
  seconds: number;
  comparisonsPerSecond: number;
  routes?: Array<{ compared: number; match: number; differ: number; failed: number; dropped: number }>;
}

/** Runs one process on core 1 and reads the JSON it prints. */
async function run(args: string[]): Promise<RunResult> {
  const [command, ...rest] = pinned(1, [process.execPath, ...args]);
  const child = spawn(command!, rest, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const [code] = await once(child, 'exit');
  if (code !== 0) throw new Error(`${args.join(' ')} exited with ${code}:\n${out}`);
  return JSON.parse(out) as RunResult;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

// 100,000 exchanges are ~140 MB: the capture goes when the benchmark does.
const dir = mkdtempSync(join(tmpdir(), 'ficus-bench-replay-'));
try {
  const candidate = await startCatalog();
  const primary = await startCatalog();
  const file = join(dir, 'capture.jsonl');
  await writeCapture(file, exchanges, new URL(primary).host);
  const replayArgs = (...extra: string[]) => [
    'tools/bin/ficus.mjs',
    'replay',
    file,
    '--candidate',
    candidate,
    ...extra,
    '--json',
  ];
  const variants: Array<{ name: string; args: string[] }> = [
    {
      name: 'requests alone (c32)',
      args: ['--import', 'tsx', 'bench/replay.ts', 'requests-alone', file, candidate, '32'],
    },
    { name: 'ficus replay (c32, threads 0)', args: replayArgs() },
    { name: 'ficus replay --threads 1', args: replayArgs('--threads', '1') },
    { name: 'ficus replay --concurrency 8', args: replayArgs('--concurrency', '8') },
    { name: 'ficus replay --concurrency 128', args: replayArgs('--concurrency', '128') },
    { name: 'ficus replay --primary', args: replayArgs('--primary', primary) },
  ];
  const placement = pinning ? 'replay on core 1, candidate and primary servers on core 0' : 'no CPU pinning';
  process.stderr.write(`node ${process.version}, ${exchanges} exchanges, ${rounds} round(s), ${placement}\n`);
  const results = new Map<string, RunResult[]>(variants.map((v) => [v.name, []]));
  for (let round = 1; round <= rounds; round++) {
    for (const variant of variants) {
      const result = await run(variant.args);
      results.get(variant.name)!.push(result);
      process.stderr.write(`round ${round}/${rounds}: ${variant.name} ${result.comparisonsPerSecond}/s\n`);
    }
  }
  const base = variants[0]!.name;
  const cell = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : '–');
  console.log(`\n| run | per s | × requests alone | seconds | match | differ | failed | dropped |`);
  console.log(`|---|---:|---:|---:|---:|---:|---:|---:|`);
  const rates = new Map<string, number>();
  for (const { name } of variants) {
    const runs = results.get(name)!;
    const rate = median(runs.map((r) => r.comparisonsPerSecond));
    rates.set(name, rate);
    const ratio = median(runs.map((r, i) => r.comparisonsPerSecond / results.get(base)![i]!.comparisonsPerSecond));
    const sum = (pick: (x: NonNullable<RunResult['routes']>[number]) => number) =>
      runs.at(-1)!.routes ? String(runs.at(-1)!.routes!.reduce((n, x) => n + pick(x), 0)) : '–';
    console.log(
      `| ${name} | ${Math.round(rate)} | ${cell(ratio)} | ${cell(median(runs.map((r) => r.seconds)), 1)} | ` +
        `${sum((x) => x.match)} | ${sum((x) => x.differ)} | ${sum((x) => x.failed)} | ${sum((x) => x.dropped)} |`,
    );
  }
  console.log(
    `\nnode ${process.version}; ${exchanges.toLocaleString('en-US')} exchanges per run; per s: the command's ` +
      `comparisons/s (requests/s for requests alone), median over ${rounds} round(s), ratios paired per round; ` +
      `match..dropped of the last round; ${placement}.`,
  );
  const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
  for (const { name } of variants.slice(1))
    console.log(`${name}: ≥${target.toLocaleString('en-US')} comparisons/s ${verdict(rates.get(name)! >= target)}`);
} finally {
  stopServers();
  rmSync(dir, { recursive: true, force: true });
}
