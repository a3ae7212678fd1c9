/**
 * npm run bench:router — throughput and p99 latency of the ficus router against baselines
 * measured in the same run, on loopback, with autocannon:
 *   direct            client → upstream (no proxy)
 *   bare node:http    the ceiling for a Node proxy on one core (baseline)
 *   express + hpm     express + http-proxy-middleware, no features
 *   ficus monolith    ficus router, route at stage monolith
 *   ficus canary 50%  ficus router, route at canary 50 % (flag evaluated per request, sticky per user)
 * Each variant is its own process. After a warm-up of at least 10 s, rounds run the variants
 * interleaved (so drift hits all of them alike); the table shows medians over rounds and the
 * ratios the targets are stated in. Absolute numbers drift on shared machines; ratios less so.
 * Environment: BENCH_ROUNDS (5), BENCH_SECONDS (5), BENCH_CONNECTIONS (32), BENCH_WARMUP_SECONDS (12).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import autocannon from 'autocannon';

const rounds = Number(process.env['BENCH_ROUNDS'] ?? 5);
const seconds = Number(process.env['BENCH_SECONDS'] ?? 5);
const connections = Number(process.env['BENCH_CONNECTIONS'] ?? 32);
const warmupSeconds = Number(process.env['BENCH_WARMUP_SECONDS'] ?? 12);
const path = '/api/v1/products/42';

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

const children: ChildProcess[] = [];
async function start(args: string[]): Promise<string> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/servers.ts', args[0]!, String(port), ...args.slice(1)], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('listening')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}`)));
  });
  return `http://127.0.0.1:${port}`;
}

interface Sample {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

async function measure(url: string, durationSeconds: number, userIds: boolean): Promise<Sample> {
  let counter = 0;
  const result = await autocannon({
    url: `${url}${path}`,
    connections,
    duration: durationSeconds,
    requests: userIds ? [{ setupRequest: (req: Record<string, unknown>) => ({ ...req, headers: { 'x-user-id': `user-${counter++ % 10000}` } }) }] : undefined,
  } as autocannon.Options);
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx, errors: result.errors };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

try {
  const upstream = await start(['upstream']);
  const variants = [
    { name: 'direct', url: upstream, userIds: false },
    { name: 'bare node:http', url: await start(['bare', upstream]), userIds: false },
    { name: 'express + hpm', url: await start(['express', upstream]), userIds: false },
    { name: 'ficus monolith', url: await start(['ficus', upstream, 'monolith', '0']), userIds: false },
    { name: 'ficus canary 50%', url: await start(['ficus', upstream, 'canary', '50']), userIds: true },
  ];
  process.stderr.write(`node ${process.version}, ${connections} connections, warm-up ${warmupSeconds} s, ${rounds} rounds × ${seconds} s per variant\n`);
  for (const variant of variants) await measure(variant.url, Math.max(2, Math.ceil(warmupSeconds / variants.length)), variant.userIds);
  const samples = new Map<string, Sample[]>(variants.map((v) => [v.name, []]));
  for (let round = 1; round <= rounds; round++) {
    // Rotate the order each round so no variant always runs first or last.
    const order = variants.map((_, i) => variants[(i + round) % variants.length]!);
    for (const variant of order) samples.get(variant.name)!.push(await measure(variant.url, seconds, variant.userIds));
    process.stderr.write(`round ${round}/${rounds} done\n`);
  }
  const summary = variants.map((v) => {
    const s = samples.get(v.name)!;
    return { name: v.name, rps: median(s.map((x) => x.rps)), p50: median(s.map((x) => x.p50)), p99: median(s.map((x) => x.p99)), failures: s.reduce((n, x) => n + x.non2xx + x.errors, 0) };
  });
  const bare = summary.find((s) => s.name === 'bare node:http')!;
  const hpm = summary.find((s) => s.name === 'express + hpm')!;
  console.log(`\n| variant | req/s (median) | × bare | × express+hpm | p50 ms | p99 ms | p99 × bare | non-2xx+errors |`);
  console.log(`|---|---:|---:|---:|---:|---:|---:|---:|`);
  for (const s of summary) {
    console.log(`| ${s.name} | ${Math.round(s.rps)} | ${(s.rps / bare.rps).toFixed(2)} | ${(s.rps / hpm.rps).toFixed(2)} | ${s.p50} | ${s.p99} | ${(s.p99 / bare.p99).toFixed(2)} | ${s.failures} |`);
  }
  console.log(`\nnode ${process.version}; ${connections} connections; ${rounds} interleaved rounds of ${seconds} s after ${warmupSeconds} s warm-up; medians.`);
  const targets = summary.filter((s) => s.name.startsWith('ficus')).map((s) => ({
    name: s.name,
    vsBare: s.rps / bare.rps >= 0.85,
    vsHpm: s.rps / hpm.rps >= 1.2,
    p99: s.p99 / bare.p99 <= 1.3,
  }));
  for (const t of targets) console.log(`${t.name}: ≥0.85× bare ${t.vsBare ? 'met' : 'MISSED'}, ≥1.2× express+hpm ${t.vsHpm ? 'met' : 'MISSED'}, p99 ≤1.3× bare ${t.p99 ? 'met' : 'MISSED'}`);
} finally {
  for (const child of children) child.kill('SIGTERM');
}
