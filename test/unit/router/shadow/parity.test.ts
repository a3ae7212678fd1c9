import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Logger } from '../../../../platform/src/index.js';
import type { Difference } from '../../../../router/src/shadow/compare.js';
import { type Answer, compareSample } from '../../../../router/src/shadow/compare-sample.js';
import { ParityRecorder, type SampleMeta, type SampleOutcome } from '../../../../router/src/shadow/parity.js';
import { redactRules } from '../../../../router/src/shadow/redact.js';
import { buildReport } from '../../../../router/src/shadow/report.js';
import {
  examplesPerField,
  MemoryParityStore,
  type ParityBatch,
  type ParityStore,
} from '../../../../router/src/shadow/store.js';

/** A small seeded generator (mulberry32): the same samples on every run, so the statistics cannot flake. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const meta: SampleMeta = {
  routeId: 'catalog-read',
  endpoint: 'GET /api/v1/products/:id',
  method: 'GET',
  path: '/api/v1/products/42',
  requestHeaders: ['accept', 'application/json', 'authorization', 'Bearer secret'],
  requestBody: null,
  primaryUpstream: 'monolith',
  candidateUpstream: 'catalog',
};

const json = (value: unknown): Answer => {
  const bytes = Buffer.from(JSON.stringify(value));
  return { status: 200, headers: { 'content-type': 'application/json' }, body: { bytes, length: bytes.length } };
};

function harness(store: ParityStore = new MemoryParityStore()) {
  const sampled: Array<{ route: string; outcome: SampleOutcome; reason: string | undefined }> = [];
  const storeFailed: number[] = [];
  const warnings: unknown[] = [];
  const logger = { warn: (...args: unknown[]) => warnings.push(args) } as unknown as Logger;
  const recorder = new ParityRecorder({
    store,
    events: {
      sampled: (route, outcome, reason) => sampled.push({ route, outcome, reason }),
      storeFailed: (lost) => storeFailed.push(lost),
    },
    redact: redactRules(),
    logger,
    flushMs: 3_600_000,
  });
  recorders.push(recorder);
  /** Compares the three answers as the router does and records the sample. */
  const sample = (primary: Answer, candidate: Answer, secondary?: Answer) =>
    recorder.record(
      meta,
      { primary, candidate },
      compareSample({ primary, candidate, secondary, rules: {}, bodyLimit: 1024 * 1024 }),
    );
  const report = async () => {
    await recorder.flush();
    return buildReport(await store.read({}));
  };
  return { recorder, store, sample, report, sampled, storeFailed, warnings };
}

const recorders: ParityRecorder[] = [];
afterEach(async () => {
  await Promise.all(recorders.splice(0).map((r) => r.close()));
});

describe('ParityRecorder', () => {
  it('flags at most 0.03 % of 5,000 A/A samples whose answers differ only in a fresh uuid and timestamp', async () => {
    const t = harness();
    const random = seeded(7);
    const base = Date.parse('2025-03-01T10:00:00.000Z');
    // Each answer is made a few milliseconds apart, as three requests to one service would be:
    // the timestamps of two answers are sometimes equal, the hard case for learning noise.
    const product = (i: number) =>
      json({
        id: 42,
        name: 'kettle',
        price: 19.9,
        requestId: randomUUID(),
        at: new Date(base + i * 1000 + Math.floor(random() * 8)).toISOString(),
      });
    const outcomes: string[] = [];
    for (let i = 0; i < 5000; i++) outcomes.push(t.sample(product(i), product(i), product(i)).outcome);
    const differ = outcomes.filter((o) => o === 'differ').length;
    expect(differ).toBeLessThanOrEqual(Math.floor(5000 * 0.0003));
    const [parity] = await t.report();
    expect(parity).toMatchObject({ route: 'catalog-read', compared: 5000, differ, noiseSamples: 5000 });
    expect(parity!.differences).toEqual([]);
    expect(parity!.noise.map((f) => f.field).sort()).toEqual(['$.at', '$.requestId']);
    // The timestamps really were equal in some samples and not in others.
    const at = parity!.noise.find((f) => f.field === '$.at')!;
    expect(at.raw).toBeGreaterThan(4000);
    expect(at.raw).toBeLessThan(5000);
  });

  it('flags a field that differs only in the candidate in every sample, with its kind, count and examples', async () => {
    const t = harness();
    const product = (price: number) => json({ id: 42, price, requestId: randomUUID() });
    const samples = 300;
    for (let i = 0; i < samples; i++) {
      const { outcome, flagged } = t.sample(product(10), product(11), product(10));
      expect(outcome).toBe('differ');
      expect(flagged.map((d) => d.path)).toEqual(['$.price']);
    }
    const [parity] = await t.report();
    expect(parity).toMatchObject({ compared: samples, match: 0, differ: samples, matchRate: 0 });
    expect(parity!.differences).toHaveLength(1);
    const price = parity!.differences[0]!;
    expect(price).toMatchObject({
      field: '$.price',
      kind: 'value',
      raw: samples,
      noise: 0,
      flagged: samples,
      endpoints: ['GET /api/v1/products/:id'],
    });
    expect(parity!.noise.map((f) => f.field)).toEqual(['$.requestId']);
    // A burst keeps one example per field (one every 5 s at most); the report names it.
    const kept = (await t.store.read({})).examples.filter((e) => e.field === '$.price');
    expect(kept).toHaveLength(1);
    expect(price.examples.length).toBeGreaterThan(0);
    for (const id of price.examples) expect(kept.map((e) => e.id)).toContain(id);
    const example = await t.store.example(price.examples[0]!);
    expect(example).toMatchObject({
      route: 'catalog-read',
      field: '$.price',
      kind: 'value',
      path: '/api/v1/products/42',
      primary: { upstream: 'monolith', status: 200, body: { id: 42, price: 10 } },
      candidate: { upstream: 'catalog', status: 200, body: { id: 42, price: 11 } },
      request: { headers: { accept: 'application/json', authorization: '[redacted]' } },
    });
    expect(example!.differences).toContainEqual(
      expect.objectContaining({ path: '$.price', primary: 10, candidate: 11 }),
    );
  });

  it('keeps one example per field every 5 s, and only the latest few over many flushes', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const t = harness();
      const ids: string[] = [];
      for (let round = 0; round < 12; round++) {
        vi.setSystemTime(Date.UTC(2026, 0, 1) + round * 6000);
        for (let i = 0; i < 3; i++) t.sample(json({ price: 10 }), json({ price: 11 }));
        await t.recorder.flush();
        ids.push(...(await t.store.read({})).examples.map((e) => e.id).filter((id) => !ids.includes(id)));
      }
      expect(ids).toHaveLength(12);
      const kept = (await t.store.read({})).examples.map((e) => e.id);
      expect(kept.sort()).toEqual(ids.slice(-examplesPerField).sort());
    } finally {
      vi.useRealTimers();
    }
  });

  it('learns a field that differs in half of the monolith’s own answers as noise', async () => {
    const t = harness();
    const random = seeded(11);
    const cached = () => json({ id: 42, price: 10, cache: random() < 0.5 ? 'hit' : 'miss' });
    const outcomes: string[] = [];
    for (let i = 0; i < 5000; i++) outcomes.push(t.sample(cached(), cached(), cached()).outcome);
    // While the counts are small a sample can still differ; once learned, none does.
    expect(outcomes.slice(1000).filter((o) => o === 'differ')).toEqual([]);
    expect(outcomes.filter((o) => o === 'differ').length).toBeLessThan(50);
    const [parity] = await t.report();
    expect(parity!.differences).toEqual([]);
    expect(parity!.noise).toEqual([expect.objectContaining({ field: '$.cache', kind: 'value' })]);
    expect(parity!.noise[0]!.raw).toBeGreaterThan(2000);
  });

  it('keeps at most 1,000 distinct fields per route and counts the rest under (other)', async () => {
    const t = harness();
    const difference = (i: number): Difference => ({ kind: 'value', path: `$.f${i}`, field: `$.f${i}` });
    const ok = json({});
    for (let i = 0; i < 1200; i++)
      t.recorder.record(
        meta,
        { primary: ok, candidate: ok },
        { differences: [difference(i)], noise: [], byHash: false },
      );
    await t.recorder.flush();
    const { fields } = await t.store.read({});
    expect(new Set(fields.map((f) => f.field)).size).toBe(1001);
    expect(fields.find((f) => f.field === '(other)')).toMatchObject({ kind: 'value', raw: 200 });
    expect(fields.some((f) => f.field === '$.f999')).toBe(true);
    expect(fields.some((f) => f.field === '$.f1000')).toBe(false);
  });

  it('loses the batch when the store fails, reports how many samples were lost, and writes the next one', async () => {
    const memory = new MemoryParityStore();
    let failNext = true;
    const flaky: ParityStore = {
      description: 'flaky',
      write: async (batch: ParityBatch) => {
        if (failNext) {
          failNext = false;
          throw new Error('connection refused');
        }
        await memory.write(batch);
      },
      read: (query) => memory.read(query),
      example: (id) => memory.example(id),
      close: async () => {},
    };
    const t = harness(flaky);
    for (let i = 0; i < 3; i++) t.sample(json({ a: 1 }), json({ a: 1 }));
    t.recorder.uncompared(meta, 'dropped', 'concurrency limit');
    await t.recorder.flush();
    expect(t.storeFailed).toEqual([4]);
    expect(t.warnings).toHaveLength(1);
    expect(JSON.stringify(t.warnings[0])).toContain('connection refused');
    expect(buildReport(await memory.read({}))).toEqual([]);
    for (let i = 0; i < 2; i++) t.sample(json({ a: 1 }), json({ a: 1 }));
    await t.recorder.flush();
    expect(t.storeFailed).toEqual([4]);
    const [parity] = buildReport(await memory.read({}));
    expect(parity).toMatchObject({ compared: 2, match: 2, dropped: 0 });
  });

  it('counts samples it could not compare by outcome, apart from the compared ones', async () => {
    const t = harness();
    t.sample(json({ a: 1 }), json({ a: 1 }));
    t.recorder.uncompared(meta, 'failed', 'candidate timed out');
    t.recorder.uncompared(meta, 'failed', 'ECONNRESET');
    t.recorder.uncompared(meta, 'dropped', 'concurrency limit');
    t.recorder.uncompared(meta, 'skipped', 'a write without dry-run');
    const [parity] = await t.report();
    expect(parity).toMatchObject({ compared: 1, match: 1, differ: 0, failed: 2, dropped: 1, skipped: 1, matchRate: 1 });
    expect(t.sampled.map((s) => [s.outcome, s.reason])).toEqual([
      ['match', undefined],
      ['failed', 'candidate timed out'],
      ['failed', 'ECONNRESET'],
      ['dropped', 'concurrency limit'],
      ['skipped', 'a write without dry-run'],
    ]);
  });
});
