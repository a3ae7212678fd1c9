import { randomBytes } from 'node:crypto';
import type { Logger } from '../../../platform/src/index.js';
import type { Difference } from './compare.js';
import type { Answer, CompareResult } from './compare-sample.js';
import { judgeField } from './noise.js';
import { redactHeaders, redactJson, redactPath, type RedactRules } from './redact.js';
import type { CountRow, Example, ExampleAnswer, FieldRow, ParityBatch, ParityStore } from './store.js';

/** What happened to a sampled request. */
export type SampleOutcome = 'match' | 'differ' | 'failed' | 'dropped' | 'skipped';

/** The request a sample is of, as the recorder needs it. */
export interface SampleMeta {
  routeId: string;
  endpoint: string;
  method: string;
  path: string;
  requestHeaders: readonly string[];
  requestBody: Uint8Array | null;
  primaryUpstream: string;
  candidateUpstream: string;
}

export interface RecorderEvents {
  sampled(route: string, outcome: SampleOutcome, reason?: string): void;
  storeFailed(lost: number): void;
}

/** Distinct fields and endpoints learned per route; beyond them counts go to `(other)`, so memory stays bounded. */
const maxFieldsPerRoute = 1000;
const maxEndpointsPerRoute = 200;
const maxPendingExamples = 50;
/** One example per route, field and kind this often at most; the store keeps the latest few. */
const exampleEveryMs = 5000;
/** Body text kept in an example. */
const exampleBodyLimit = 64 * 1024;

interface Learned {
  /** Compared samples, and those with a secondary answer. */
  samples: number;
  fields: Map<string, { raw: number; noise: number }>;
  endpoints: Set<string>;
  /** When an example of each field and kind was last kept. */
  examples: Map<string, number>;
}

const keyOf = (d: Difference) => `${d.field}\u0000${d.kind}`;
const minuteOf = (at: number) => at - (at % 60_000);

function bodyOf(answer: Extract<Answer, { status: number }>, rules: RedactRules): unknown {
  const { body } = answer;
  if (!body.bytes) return { length: body.length, sha256: body.sha256 };
  const text = Buffer.from(
    body.bytes.buffer,
    body.bytes.byteOffset,
    Math.min(body.bytes.length, exampleBodyLimit),
  ).toString('utf8');
  try {
    return redactJson(JSON.parse(text), rules);
  } catch {
    return body.length > exampleBodyLimit ? `${text}… (${body.length} bytes)` : text;
  }
}

/**
 * Turns comparison results into parity: which differences are real once noise is learned, the
 * per-minute counters, and a bounded set of redacted examples, flushed to the store in batches
 * off the hot path. A failing store loses results (counted), never the router's memory.
 *
 * A sample differs when it has a candidate difference at a field that (a) did not also differ
 * between the serving upstream's own two answers in this sample, and (b) is not learned as noise
 * over all samples so far (Diffy's rule, `judgeField`).
 */
export class ParityRecorder {
  readonly #store: ParityStore;
  readonly #events: RecorderEvents;
  readonly #redact: RedactRules;
  readonly #logger: Logger;
  readonly #learned = new Map<string, Learned>();
  #counts = new Map<string, CountRow>();
  #fields = new Map<string, FieldRow>();
  #examples: Example[] = [];
  #drops = new Map<string, number>();
  #pendingSamples = 0;
  #flushing: Promise<void> | undefined;
  readonly #timer: NodeJS.Timeout;

  constructor(options: {
    store: ParityStore;
    events: RecorderEvents;
    redact: RedactRules;
    logger: Logger;
    flushMs?: number;
  }) {
    this.#store = options.store;
    this.#events = options.events;
    this.#redact = options.redact;
    this.#logger = options.logger;
    this.#timer = setInterval(() => void this.flush(), options.flushMs ?? 1000);
    this.#timer.unref();
  }

  get store(): ParityStore {
    return this.#store;
  }

  #learn(route: string): Learned {
    let learned = this.#learned.get(route);
    if (!learned)
      this.#learned.set(
        route,
        (learned = { samples: 0, fields: new Map(), endpoints: new Set(), examples: new Map() }),
      );
    return learned;
  }

  #endpoint(learned: Learned, meta: SampleMeta): string {
    if (learned.endpoints.has(meta.endpoint)) return meta.endpoint;
    if (learned.endpoints.size >= maxEndpointsPerRoute) return `${meta.method} (other)`;
    learned.endpoints.add(meta.endpoint);
    return meta.endpoint;
  }

  #count(route: string, endpoint: string, name: string, at = Date.now()): void {
    const minute = minuteOf(at);
    const key = `${route}\u0000${endpoint}\u0000${minute}\u0000${name}`;
    const row = this.#counts.get(key);
    if (row) row.count++;
    else this.#counts.set(key, { route, endpoint, minute, name, count: 1 });
  }

  #field(route: string, endpoint: string, key: string, add: { raw?: number; noise?: number; flagged?: number }): void {
    const [field, kind] = key.split('\u0000') as [string, Difference['kind']];
    const minute = minuteOf(Date.now());
    const rowKey = `${route}\u0000${endpoint}\u0000${minute}\u0000${key}`;
    let row = this.#fields.get(rowKey);
    if (!row) this.#fields.set(rowKey, (row = { route, endpoint, minute, field, kind, raw: 0, noise: 0, flagged: 0 }));
    row.raw += add.raw ?? 0;
    row.noise += add.noise ?? 0;
    row.flagged += add.flagged ?? 0;
  }

  /**
   * A sample dropped because a limit was full: counted per route only (no endpoint, no example),
   * as cheaply as possible, since drops come in floods exactly when the router is busiest.
   */
  dropped(routeId: string, reason: string): void {
    const key = `${routeId}\u0000${reason}`;
    this.#drops.set(key, (this.#drops.get(key) ?? 0) + 1);
    this.#pendingSamples++;
    this.#events.sampled(routeId, 'dropped', reason);
  }

  /** A sample that was not compared: dropped (a limit was full), skipped (not mirrorable) or failed (no candidate answer). */
  uncompared(
    meta: Pick<SampleMeta, 'routeId' | 'endpoint' | 'method'>,
    outcome: 'failed' | 'dropped' | 'skipped',
    reason: string,
  ): void {
    const learned = this.#learn(meta.routeId);
    this.#count(meta.routeId, this.#endpoint(learned, meta as SampleMeta), outcome);
    this.#pendingSamples++;
    this.#events.sampled(meta.routeId, outcome, reason);
  }

  /** A compared sample; returns its outcome and the differences that count. */
  record(
    meta: SampleMeta,
    answers: { primary: Answer; candidate: Answer },
    result: CompareResult,
  ): { outcome: 'match' | 'differ'; flagged: Difference[] } {
    const learned = this.#learn(meta.routeId);
    const endpoint = this.#endpoint(learned, meta);
    learned.samples++;
    const bounded = (key: string) =>
      learned.fields.has(key) || learned.fields.size < maxFieldsPerRoute
        ? key
        : `(other)\u0000${key.split('\u0000')[1]}`;
    const noiseKeys = new Set((result.noise ?? []).map((d) => bounded(keyOf(d))));
    const rawKeys = new Map<string, Difference>();
    for (const difference of result.differences) {
      const key = bounded(keyOf(difference));
      if (!rawKeys.has(key)) rawKeys.set(key, difference);
    }
    for (const key of noiseKeys) {
      const counts = learned.fields.get(key) ?? { raw: 0, noise: 0 };
      counts.noise++;
      learned.fields.set(key, counts);
      this.#field(meta.routeId, endpoint, key, { noise: 1 });
    }
    const flagged: Difference[] = [];
    for (const [key, difference] of rawKeys) {
      const counts = learned.fields.get(key) ?? { raw: 0, noise: 0 };
      counts.raw++;
      learned.fields.set(key, counts);
      const real = !noiseKeys.has(key) && judgeField(counts, learned.samples) === 'difference';
      this.#field(meta.routeId, endpoint, key, { raw: 1, flagged: real ? 1 : 0 });
      if (real) flagged.push(difference);
    }
    if (result.noise) this.#count(meta.routeId, endpoint, 'noise-samples');
    if (result.byHash) this.#count(meta.routeId, endpoint, 'by-hash');
    const outcome = flagged.length > 0 ? 'differ' : 'match';
    this.#count(meta.routeId, endpoint, outcome);
    this.#pendingSamples++;
    this.#events.sampled(meta.routeId, outcome);
    if (outcome === 'differ') this.#keepExample(learned, meta, endpoint, answers, flagged, result.differences);
    return { outcome, flagged };
  }

  #keepExample(
    learned: Learned,
    meta: SampleMeta,
    endpoint: string,
    answers: { primary: Answer; candidate: Answer },
    flagged: Difference[],
    all: Difference[],
  ): void {
    const first = flagged[0]!;
    const key = keyOf(first);
    const now = Date.now();
    const last = learned.examples.get(key);
    if (last !== undefined && now - last < exampleEveryMs) return;
    if (this.#examples.length >= maxPendingExamples) return;
    if ('error' in answers.primary || 'error' in answers.candidate) return;
    learned.examples.set(key, now);
    const answer = (a: Extract<Answer, { status: number }>, upstream: string): ExampleAnswer => ({
      upstream,
      status: a.status,
      headers: redactHeaders(a.headers, this.#redact),
      body: bodyOf(a, this.#redact),
    });
    let body: unknown;
    if (meta.requestBody)
      body = bodyOf(
        { status: 0, headers: {}, body: { bytes: meta.requestBody, length: meta.requestBody.length } },
        this.#redact,
      );
    const shown = all
      .slice(0, 50)
      .map((d) => (redactPath(d.path, this.#redact) ? { ...d, primary: '[redacted]', candidate: '[redacted]' } : d));
    this.#examples.push({
      id: `ex_${randomBytes(6).toString('base64url')}`,
      at: Date.now(),
      route: meta.routeId,
      endpoint,
      field: first.field,
      kind: first.kind,
      method: meta.method,
      path: meta.path,
      request: { headers: redactHeaders(meta.requestHeaders, this.#redact), ...(body === undefined ? {} : { body }) },
      primary: answer(answers.primary, meta.primaryUpstream),
      candidate: answer(answers.candidate, meta.candidateUpstream),
      differences: shown,
    });
  }

  /** Writes what was gathered since the last flush; one write at a time. */
  async flush(): Promise<void> {
    if (this.#flushing) return this.#flushing;
    const minute = minuteOf(Date.now());
    for (const [key, count] of this.#drops) {
      const route = key.slice(0, key.indexOf('\u0000'));
      const rowKey = `${route}\u0000*\u0000${minute}\u0000dropped`;
      const row = this.#counts.get(rowKey);
      if (row) row.count += count;
      else this.#counts.set(rowKey, { route, endpoint: '*', minute, name: 'dropped', count });
    }
    this.#drops = new Map();
    if (this.#counts.size === 0 && this.#fields.size === 0 && this.#examples.length === 0) return;
    const batch: ParityBatch = {
      counts: [...this.#counts.values()],
      fields: [...this.#fields.values()],
      examples: this.#examples,
    };
    const lost = this.#pendingSamples;
    this.#counts = new Map();
    this.#fields = new Map();
    this.#examples = [];
    this.#pendingSamples = 0;
    this.#flushing = this.#store.write(batch).then(
      () => {
        this.#flushing = undefined;
      },
      (error: unknown) => {
        this.#flushing = undefined;
        this.#events.storeFailed(lost);
        this.#logger.warn(
          { store: this.#store.description, err: (error as Error).message, lost },
          'parity store write failed; these results are dropped (serving is not affected)',
        );
      },
    );
    return this.#flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#flushing;
    await this.flush();
  }
}
