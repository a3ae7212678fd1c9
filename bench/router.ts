/**
 * npm run bench:router — throughput and p99 latency of the ficus router against baselines
 * measured in the same run, on loopback, with autocannon:
 *   direct            client → upstream (no proxy)
 *   bare node:http    a bare node:http pipe proxy (the baseline)
 *   express + hpm     express + http-proxy-middleware, no features
 *   ficus monolith    ficus router, route at stage monolith
 *   ficus canary 50%  ficus router, route at canary 50 % (flag evaluated per request, sticky per user)
 *   ficus shadow 100%       route at stage shadow, every request mirrored to a candidate that is
 *                           another instance of the upstream (same bytes) and compared
 *   ficus shadow 100% slow  the same with a candidate answering after 200 ms (samples beyond the
 *                           route's shadow concurrency are dropped and counted, never queued)
 * Each variant is its own process. After a warm-up of at least 10 s, rounds run the variants
 * interleaved (so drift hits all of them alike); the table shows medians over rounds and the
 * ratios the targets are stated in. Absolute numbers drift on shared machines; ratios less so.
 * The shadow variants are judged against ficus monolith (the same router without a sample), and
 * their comparisons and drops per second are read from the router's ficus_shadow_samples_total.
 * Load comes from wrk when installed (apt-get install wrk), else autocannon.
 * Environment: BENCH_ROUNDS (7), BENCH_SECONDS (5), BENCH_CONNECTIONS (32), BENCH_WARMUP_SECONDS (12), BENCH_TOOL.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import autocannon from 'autocannon';
import { pinning, startServer, stopServers } from './processes.js';

const rounds = Number(process.env['BENCH_ROUNDS'] ?? 7);
const seconds = Number(process.env['BENCH_SECONDS'] ?? 5);
const connections = Number(process.env['BENCH_CONNECTIONS'] ?? 32);
const warmupSeconds = Number(process.env['BENCH_WARMUP_SECONDS'] ?? 12);
const path = '/api/v1/products/42';

/**
 * Starts a server of bench/servers.ts: the upstreams on core 0 with the load generator, each proxy
 * on core 1. The shadow candidates are upstreams too and share core 0; the comparison worker thread
 * is the router's own, so it competes with the proxying on core 1, as it would in production.
 */
const start = (args: string[]) => startServer(args, args[0] === 'upstream' ? 0 : 1, { ipc: true });

/** A ficus process's ficus_shadow_samples_total by outcome, asked over IPC (see bench/servers.ts). */
async function shadowCounts(child: ChildProcess): Promise<Record<string, number>> {
  const answer = new Promise<Record<string, number>>((resolve) => {
    const listen = (message: { shadowCounts?: Record<string, number> }) => {
      if (!message.shadowCounts) return;
      child.off('message', listen);
      resolve(message.shadowCounts);
    };
    child.on('message', listen);
  });
  child.send('shadow-counts');
  return answer;
}

/** CPU time (user + system) a process has used, in milliseconds, from /proc; undefined elsewhere. */
function cpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
}

interface Sample {
  requests: number;
  /** CPU milliseconds the proxy spent per 1,000 requests (not for direct). */
  cpuPerK: number | undefined;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  /** Shadow samples per second over the window, by outcome (shadow variants only). */
  shadow: { compared: number; differ: number; dropped: number; failed: number } | undefined;
}

// 500 users, each request from the next one, for every variant: the canary needs user ids,
// and the baselines get the same requests so the load generator (which shares a core with the
// upstream) does the same work for all of them. Prepared up front for autocannon.
const userRequests = Array.from({ length: 500 }, (_, i) => ({
  method: 'GET' as const,
  path,
  headers: { 'x-user-id': `user-${i}` },
}));

// wrk (C, from the distribution's packages) costs the shared machine far less per request
// than autocannon, so the proxies rather than the generator set the pace; autocannon is the
// fallback where wrk is not installed. BENCH_TOOL=autocannon forces it.
const useWrk = process.env['BENCH_TOOL'] !== 'autocannon' && spawnSync('wrk', ['--version']).error === undefined;
const wrkScript = join(mkdtempSync(join(tmpdir(), 'ficus-bench-')), 'users.lua');
writeFileSync(
  wrkScript,
  'local i = 0\nrequest = function()\n  i = (i + 1) % 500\n  return wrk.format(nil, nil, { ["x-user-id"] = "user-" .. i })\nend\n',
);

function milliseconds(text: string): number {
  const match = /([\d.]+)(us|ms|s)/.exec(text);
  if (!match) return Number.NaN;
  const value = Number(match[1]);
  return match[2] === 'us' ? value / 1000 : match[2] === 's' ? value * 1000 : value;
}

type Load = Omit<Sample, 'cpuPerK' | 'shadow'>;

async function measureWrk(url: string, durationSeconds: number): Promise<Load> {
  const args = ['-t1', `-c${connections}`, `-d${durationSeconds}s`, '--latency', '-s', wrkScript, `${url}${path}`];
  const child = spawn(pinning ? 'taskset' : 'wrk', pinning ? ['-c', '0', 'wrk', ...args] : args, {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await once(child, 'exit');
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const p50 = milliseconds(/^\s+50%\s+(\S+)/m.exec(out)?.[1] ?? '');
  const p99 = milliseconds(/^\s+99%\s+(\S+)/m.exec(out)?.[1] ?? '');
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const errors = (
    /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)?.slice(1) ?? []
  ).reduce((n, x) => n + Number(x), 0);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  if (!Number.isFinite(rps)) throw new Error(`could not read wrk's output:\n${out}`);
  return { requests, rps, p50, p99, non2xx, errors };
}

interface Target {
  url: string;
  pid?: number;
  /** Set for the shadow variants: the router process whose shadow counters are read. */
  shadow?: ChildProcess;
}

async function measure(target: Target, durationSeconds: number): Promise<Sample> {
  const countsBefore = target.shadow && (await shadowCounts(target.shadow));
  const started = performance.now();
  const before = cpuMs(target.pid);
  const sample = await measureLoad(target.url, durationSeconds);
  const after = cpuMs(target.pid);
  const countsAfter = target.shadow && (await shadowCounts(target.shadow));
  const elapsed = (performance.now() - started) / 1000;
  const perSecond = (...outcomes: string[]) =>
    outcomes.reduce((n, o) => n + (countsAfter![o] ?? 0) - (countsBefore![o] ?? 0), 0) / elapsed;
  return {
    ...sample,
    cpuPerK: before === undefined || after === undefined ? undefined : ((after - before) * 1000) / sample.requests,
    shadow: countsBefore
      ? {
          compared: perSecond('match', 'differ'),
          differ: perSecond('differ'),
          dropped: perSecond('dropped'),
          failed: perSecond('failed'),
        }
      : undefined,
  };
}

async function measureLoad(url: string, durationSeconds: number): Promise<Load> {
  if (useWrk) return measureWrk(url, durationSeconds);
  const result = await autocannon({
    url: `${url}${path}`,
    connections,
    duration: durationSeconds,
    requests: userRequests,
  });
  return {
    requests: result.requests.total,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

try {
  const upstream = (await start(['upstream'])).url;
  const candidate = (await start(['upstream'])).url;
  const slowCandidate = (await start(['upstream', '200'])).url;
  const shadowVariant = async (name: string, candidateUrl: string) => {
    const router = await start(['ficus', upstream, 'shadow', '100', candidateUrl]);
    return { name, url: router.url, pid: router.pid, shadow: router.child };
  };
  const variants: Array<Target & { name: string }> = [
    { name: 'direct', url: upstream },
    { name: 'bare node:http', ...(await start(['bare', upstream])) },
    { name: 'express + hpm', ...(await start(['express', upstream])) },
    { name: 'ficus monolith', ...(await start(['ficus', upstream, 'monolith', '0'])) },
    { name: 'ficus canary 50%', ...(await start(['ficus', upstream, 'canary', '50'])) },
    await shadowVariant('ficus shadow 100%', candidate),
    await shadowVariant('ficus shadow 100% slow', slowCandidate),
  ];
  process.stderr.write(
    `node ${process.version}, ${connections} connections, warm-up ${warmupSeconds} s, ${rounds} rounds × ${seconds} s per variant, ${pinning ? 'proxies pinned to core 1, load generator and upstream to core 0' : 'no CPU pinning'}, load from ${useWrk ? 'wrk' : 'autocannon'}\n`,
  );
  for (const variant of variants) await measure(variant, Math.max(2, Math.ceil(warmupSeconds / variants.length)));
  const samples = new Map<string, Sample[]>(variants.map((v) => [v.name, []]));
  for (let round = 1; round <= rounds; round++) {
    // Rotate the order each round so no variant always runs first or last.
    const order = variants.map((_, i) => variants[(i + round) % variants.length]!);
    for (const variant of order) samples.get(variant.name)!.push(await measure(variant, seconds));
    process.stderr.write(
      `round ${round}/${rounds}: ${variants
        .map((v) => {
          const x = samples.get(v.name)!.at(-1)!;
          return `${v.name} ${Math.round(x.rps)} req/s p99 ${x.p99.toFixed(1)} ms`;
        })
        .join(', ')}\n`,
    );
  }
  // Ratios are paired per round (variants measured minutes apart drift apart on a shared
  // machine) and the median of the rounds' ratios is reported.
  const of = (name: string) => samples.get(name)!;
  const pairedRatio = (name: string, base: string, pick: (x: Sample) => number | undefined) => {
    const ratios = of(name)
      .map((x, i) => (pick(x) ?? Number.NaN) / (pick(of(base)[i]!) ?? Number.NaN))
      .filter(Number.isFinite);
    return ratios.length ? median(ratios) : Number.NaN;
  };
  const summary = variants.map((v) => {
    const s = of(v.name);
    const cpu = s.map((x) => x.cpuPerK).filter((x): x is number => x !== undefined);
    return {
      name: v.name,
      rps: median(s.map((x) => x.rps)),
      vsBare: pairedRatio(v.name, 'bare node:http', (x) => x.rps),
      vsHpm: pairedRatio(v.name, 'express + hpm', (x) => x.rps),
      p50: median(s.map((x) => x.p50)),
      p99: median(s.map((x) => x.p99)),
      p99VsBare: pairedRatio(v.name, 'bare node:http', (x) => x.p99),
      cpuPerK: cpu.length ? median(cpu) : Number.NaN,
      cpuVsBare: pairedRatio(v.name, 'bare node:http', (x) => x.cpuPerK),
      failures: s.reduce((n, x) => n + x.non2xx + x.errors, 0),
    };
  });
  const cell = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : '–');
  console.log(
    `\n| variant | req/s | × bare | × express+hpm | p50 ms | p99 ms | p99 × bare | proxy CPU ms / 1k req | CPU × bare | non-2xx+errors |`,
  );
  console.log(`|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|`);
  for (const s of summary) {
    console.log(
      `| ${s.name} | ${Math.round(s.rps)} | ${cell(s.vsBare)} | ${cell(s.vsHpm)} | ${cell(s.p50, 1)} | ${cell(s.p99, 1)} | ${cell(s.p99VsBare)} | ${cell(s.cpuPerK, 0)} | ${cell(s.cpuVsBare)} | ${s.failures} |`,
    );
  }
  console.log(
    `\nnode ${process.version}; ${connections} connections; ${rounds} interleaved rounds of ${seconds} s after ${warmupSeconds} s warm-up; req/s and latencies are medians over rounds, ratios are medians of per-round ratios; ${pinning ? 'each proxy pinned to its own core' : 'no CPU pinning'}; load from ${useWrk ? 'wrk' : 'autocannon'}.`,
  );
  const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
  for (const s of summary.filter((x) => x.name.startsWith('ficus') && !x.name.startsWith('ficus shadow'))) {
    console.log(
      `${s.name}: throughput ≥0.85× bare ${verdict(s.vsBare >= 0.85)}, ≥1.2× express+hpm ${verdict(s.vsHpm >= 1.2)}, p99 ≤1.3× bare ${verdict(s.p99VsBare <= 1.3)}`,
    );
  }

  // Shadow traffic against the same router without a sample, paired per round like the ratios above.
  const base = 'ficus monolith';
  const shadowed = variants.filter((v) => v.shadow).map((v) => v.name);
  const perSecond = (name: string, pick: (x: NonNullable<Sample['shadow']>) => number) =>
    median(of(name).map((x) => (x.shadow ? pick(x.shadow) : Number.NaN)));
  // The p99 target is 1.2× the monolith's p99 plus 1 ms; per round, how far under (negative) or over it.
  const p99Over = (name: string) => median(of(name).map((x, i) => x.p99 - (1.2 * of(base)[i]!.p99 + 1)));
  console.log(
    `\n| shadow variant | req/s | × ${base} | p99 ms | p99 × ${base} | p99 limit ms | ` +
      'comparisons/s | dropped/s | failed/s | differ/s |',
  );
  console.log(`|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|`);
  for (const name of shadowed) {
    const s = summary.find((x) => x.name === name)!;
    const limit = 1.2 * median(of(base).map((x) => x.p99)) + 1;
    console.log(
      `| ${name} | ${Math.round(s.rps)} | ${cell(pairedRatio(name, base, (x) => x.rps))} | ${cell(s.p99, 1)} | ` +
        `${cell(pairedRatio(name, base, (x) => x.p99))} | ${cell(limit, 1)} | ${cell(
          perSecond(name, (x) => x.compared),
          0,
        )} | ` +
        `${cell(
          perSecond(name, (x) => x.dropped),
          0,
        )} | ${cell(
          perSecond(name, (x) => x.failed),
          0,
        )} | ` +
        `${cell(
          perSecond(name, (x) => x.differ),
          0,
        )} |`,
    );
  }
  console.log(
    "\nshadow: sample 100 %, candidate on the upstream's core, comparisons in the router's worker thread; " +
      'comparisons, drops and failures per second from ficus_shadow_samples_total over each window, medians over rounds.',
  );
  for (const name of shadowed) {
    console.log(
      `${name}: throughput ≥0.85× ${base} ${verdict(pairedRatio(name, base, (x) => x.rps) >= 0.85)}, ` +
        `p99 ≤1.2× ${base} + 1 ms ${verdict(p99Over(name) <= 0)}`,
    );
  }
} finally {
  stopServers();
}
