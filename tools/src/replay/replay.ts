import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../../platform/src/index.js';
import { normalizeTarget } from '../../../router/src/normalize-path.js';
import { matchRoute, type RouteTable } from '../../../router/src/route-table/load.js';
import { defaultShadowRules, type ShadowRules } from '../../../router/src/route-table/schema.js';
import { ask, mirrorPool } from '../../../router/src/shadow/ask.js';
import { redactedBody, type CapturedExchange } from '../../../router/src/shadow/capture.js';
import type { Answer, CompareJob } from '../../../router/src/shadow/compare-sample.js';
import type { Comparator } from '../../../router/src/shadow/comparator.js';
import { endpointOf } from '../../../router/src/shadow/endpoint.js';
import { ParityRecorder, type SampleMeta } from '../../../router/src/shadow/parity.js';
import { redactRules } from '../../../router/src/shadow/redact.js';
import { buildReport, type RouteParity } from '../../../router/src/shadow/report.js';
import { MemoryParityStore } from '../../../router/src/shadow/store.js';
import { idempotentMethods } from '../../../router/src/proxy/send.js';

export interface ReplayOptions {
  candidate: URL;
  /** Asked again for idempotent requests, to learn noise as the live mirror does. */
  primary?: URL | undefined;
  /** Requests per second at most (default: as fast as `concurrency` allows). */
  rate?: number | undefined;
  concurrency: number;
  timeoutMs: number;
  bodyLimit: number;
  /** The route table whose shadow rules apply (by the capture's route id, or matched by path). */
  table?: RouteTable | undefined;
  /** Headers set on every replayed request (credentials the capture redacted). */
  headers: Array<[string, string]>;
  comparator: Comparator;
  logger: Logger;
  onProgress?: (done: number, counts: { differ: number; failed: number }) => void;
}

export interface ReplayResult {
  report: RouteParity[];
  replayed: number;
  seconds: number;
}

/** Request headers as sent again: Host the target's, lengths recomputed, the shadow header never. */
function requestHeaders(exchange: CapturedExchange, host: string, extra: Array<[string, string]>): string[] {
  const out = ['host', host];
  const replaced = new Set(extra.map(([name]) => name.toLowerCase()));
  for (const [name, value] of Object.entries(exchange.headers)) {
    if (['host', 'content-length', 'transfer-encoding', 'connection', 'x-ficus-shadow'].includes(name)) continue;
    if (!replaced.has(name)) out.push(name, value);
  }
  for (const [name, value] of extra) out.push(name.toLowerCase(), value);
  return out;
}

/**
 * Replays captured exchanges on a candidate (and the primary again, for noise) and compares
 * with the same code as the live mirror: the captured response is the primary answer, rules
 * come from the route table, results go through the same recorder into the same report.
 */
export async function replay(
  exchanges: AsyncIterable<CapturedExchange>,
  options: ReplayOptions,
): Promise<ReplayResult> {
  const rules = redactRules();
  const store = new MemoryParityStore();
  const recorder = new ParityRecorder({
    store,
    events: { sampled: () => {}, storeFailed: () => {} },
    redact: rules,
    logger: options.logger,
    flushMs: 500,
  });
  const pool = (url: URL) => mirrorPool(url.origin, { connections: options.concurrency, timeoutMs: options.timeoutMs });
  const candidatePool = pool(options.candidate);
  const primaryPool = options.primary ? pool(options.primary) : undefined;
  const iterator = exchanges[Symbol.asyncIterator]();
  const started = performance.now();
  let index = 0;
  let done = 0;
  const counts = { differ: 0, failed: 0 };

  const routeOf = (exchange: CapturedExchange): { id: string; rules: ShadowRules } => {
    const table = options.table;
    if (!table) return { id: exchange.route || 'default', rules: defaultShadowRules };
    const byId = exchange.route ? table.routes.find((r) => r.id === exchange.route) : undefined;
    if (byId) return { id: byId.id, rules: byId.shadow };
    const target = normalizeTarget(exchange.path, 8192);
    const route = target.ok ? matchRoute(table, exchange.method, target.segments, exchange.headers) : undefined;
    return route
      ? { id: route.id, rules: route.shadow }
      : { id: exchange.route || 'default', rules: defaultShadowRules };
  };

  const one = async (exchange: CapturedExchange) => {
    const route = routeOf(exchange);
    const body = exchange.body === undefined ? null : Buffer.from(exchange.body, 'base64');
    const captured = exchange.response.body === undefined ? undefined : Buffer.from(exchange.response.body, 'base64');
    const primary: Answer = {
      status: exchange.response.status,
      headers: exchange.response.headers,
      body: captured
        ? { bytes: captured, length: captured.length }
        : { length: exchange.response.length, sha256: exchange.response.sha256 ?? 'unknown' },
    };
    const meta: SampleMeta = {
      routeId: route.id,
      endpoint: endpointOf(exchange.method, exchange.path),
      method: exchange.method,
      path: exchange.path,
      requestHeaders: requestHeaders(exchange, options.candidate.host, []),
      requestBody: body,
      primaryUpstream: exchange.response.upstream,
      candidateUpstream: options.candidate.host,
    };
    const bounds = {
      bodyLimit: options.bodyLimit,
      readLimit: captured ? options.bodyLimit : exchange.response.length,
      timeoutMs: options.timeoutMs,
    };
    const request = (host: string) => ({
      method: exchange.method,
      path: exchange.path,
      headers: requestHeaders(exchange, host, options.headers),
      body,
    });
    // The capture is redacted: the fresh answers are too, or every secret would be a difference.
    const redacted = (answer: Answer): Answer => {
      if ('error' in answer || !answer.body.bytes) return answer;
      const plain = redactedBody(answer.body.bytes, answer.headers, rules);
      return { ...answer, headers: plain.headers, body: { bytes: plain.bytes, length: plain.bytes.length } };
    };
    const noise = primaryPool && route.rules.learnNoise && idempotentMethods.has(exchange.method);
    const [candidate, secondary] = await Promise.all([
      ask(candidatePool, 'candidate', request(options.candidate.host), bounds).then(redacted),
      noise ? ask(primaryPool, 'primary', request(options.primary!.host), bounds).then(redacted) : undefined,
    ]);
    if ('error' in candidate) {
      counts.failed++;
      return recorder.uncompared(meta, 'failed', candidate.error);
    }
    const job: CompareJob = { primary, candidate, secondary, rules: route.rules, bodyLimit: options.bodyLimit };
    const result = await options.comparator.compare(job);
    if (recorder.record(meta, { primary, candidate }, result).outcome === 'differ') counts.differ++;
  };

  const worker = async () => {
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      const i = index++;
      if (options.rate) {
        const due = started + (i / options.rate) * 1000;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
      }
      await one(next.value);
      done++;
      options.onProgress?.(done, counts);
    }
  };
  try {
    await Promise.all(Array.from({ length: options.concurrency }, worker));
  } finally {
    await Promise.all([candidatePool.destroy(), primaryPool?.destroy()]);
  }
  await recorder.close();
  const seconds = (performance.now() - started) / 1000;
  return { report: buildReport(await store.read({})), replayed: done, seconds };
}
