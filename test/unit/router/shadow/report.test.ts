import { describe, expect, it } from 'vitest';
import { buildReport, wilson } from '../../../../router/src/shadow/report.js';
import type { CountRow, FieldRow, ParityData } from '../../../../router/src/shadow/store.js';

const count = (route: string, endpoint: string, name: string, n: number): CountRow => ({
  route,
  endpoint,
  minute: 0,
  name,
  count: n,
});
const field = (
  endpoint: string,
  name: string,
  counts: { raw: number; noise: number; flagged: number },
  kind: FieldRow['kind'] = 'value',
): FieldRow => ({ route: 'orders', endpoint, minute: 0, field: name, kind, ...counts });

describe('wilson', () => {
  it('has no interval with nothing compared', () => {
    expect(wilson(0, 0)).toBeUndefined();
  });

  it('gives the known 95 % intervals', () => {
    const [low, high] = wilson(50, 100)!;
    expect(low).toBeCloseTo(0.4038, 4);
    expect(high).toBeCloseTo(0.5962, 4);
    // All matched: the upper bound is 1 and the lower n / (n + z²), not the normal interval's 1 ± 0.
    const [allLow, allHigh] = wilson(100, 100)!;
    expect(allLow).toBeCloseTo(100 / (100 + 1.96 ** 2), 6);
    expect(allHigh).toBeCloseTo(1, 10);
    expect(allHigh).toBeLessThanOrEqual(1);
    const [noneLow, noneHigh] = wilson(0, 10)!;
    expect(noneLow).toBeGreaterThanOrEqual(0);
    expect(noneLow).toBeCloseTo(0, 10);
    expect(noneHigh).toBeCloseTo(1.96 ** 2 / (10 + 1.96 ** 2), 6);
  });

  it('narrows as samples grow', () => {
    const [a, b] = wilson(99, 100)!;
    const [c, d] = wilson(9900, 10_000)!;
    expect(d - c).toBeLessThan((b - a) / 5);
    expect(c).toBeLessThan(0.99);
    expect(d).toBeGreaterThan(0.99);
  });
});

describe('buildReport', () => {
  const data: ParityData = {
    counts: [
      count('orders', 'GET /orders/:id', 'match', 80),
      count('orders', 'GET /orders/:id', 'differ', 20),
      count('orders', 'GET /orders', 'match', 300),
      count('orders', 'POST /orders', 'skipped', 7),
      count('orders', 'GET /orders', 'failed', 3),
      count('orders', 'GET /orders', 'dropped', 2),
      count('orders', 'GET /orders', 'by-hash', 5),
      count('orders', 'GET /orders/:id', 'noise-samples', 90),
      count('catalog', 'GET /products', 'match', 1),
    ],
    fields: [
      // A field reported in many samples, another in fewer, and a tie on flagged broken by raw.
      field('GET /orders/:id', '$.total', { raw: 12, noise: 0, flagged: 12 }),
      field('GET /orders/:id', '$.status', { raw: 20, noise: 0, flagged: 20 }, 'type'),
      field('GET /orders', '$.total', { raw: 3, noise: 0, flagged: 3 }),
      field('GET /orders/:id', '$.note', { raw: 15, noise: 0, flagged: 12 }, 'missing'),
      // Differs as often on its own as against the candidate: noise.
      field('GET /orders/:id', '$.requestId', { raw: 100, noise: 90, flagged: 0 }),
      field('GET /orders/:id', '$.at', { raw: 40, noise: 45, flagged: 0 }),
    ],
    examples: [
      { id: 'ex_1', at: 1, route: 'orders', endpoint: 'GET /orders/:id', field: '$.total', kind: 'value' },
      { id: 'ex_2', at: 2, route: 'orders', endpoint: 'GET /orders/:id', field: '$.total', kind: 'value' },
      { id: 'ex_3', at: 3, route: 'orders', endpoint: 'GET /orders/:id', field: '$.total', kind: 'type' },
    ],
  };

  it('sums samples per route and per endpoint, busiest endpoint first, routes by name', () => {
    const [catalog, orders] = buildReport(data);
    expect(catalog).toMatchObject({ route: 'catalog', compared: 1, match: 1, matchRate: 1 });
    expect(orders).toMatchObject({
      route: 'orders',
      compared: 400,
      match: 380,
      differ: 20,
      failed: 3,
      dropped: 2,
      skipped: 7,
      byHash: 5,
      noiseSamples: 90,
      matchRate: 0.95,
    });
    expect(orders!.interval).toEqual(wilson(380, 400));
    expect(orders!.endpoints).toEqual([
      { endpoint: 'GET /orders', compared: 300, match: 300 },
      { endpoint: 'GET /orders/:id', compared: 100, match: 80 },
    ]);
  });

  it('orders differences by samples flagged, then by raw; puts noise apart, noisiest first', () => {
    const orders = buildReport(data).find((r) => r.route === 'orders')!;
    expect(orders.differences.map((d) => [d.field, d.kind, d.flagged, d.raw])).toEqual([
      ['$.status', 'type', 20, 20],
      ['$.total', 'value', 15, 15],
      ['$.note', 'missing', 12, 15],
    ]);
    expect(orders.differences[1]!.endpoints).toEqual(['GET /orders/:id', 'GET /orders']);
    // Examples go to the field and kind they were kept for.
    expect(orders.differences[1]!.examples).toEqual(['ex_1', 'ex_2']);
    expect(orders.differences[0]!.examples).toEqual([]);
    expect(orders.noise.map((d) => d.field)).toEqual(['$.requestId', '$.at']);
  });

  it('has no match rate nor interval for a route with samples but none compared', () => {
    const [only] = buildReport({ counts: [count('r', 'GET /', 'failed', 4)], fields: [], examples: [] });
    expect(only).toMatchObject({ compared: 0, failed: 4, matchRate: undefined, interval: undefined });
  });
});
