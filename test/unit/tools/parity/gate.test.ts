import { describe, expect, it } from 'vitest';
import type { RouteStage } from '../../../../platform/src/flags/features.js';
import type { RouteParity } from '../../../../router/src/shadow/report.js';
import { judgePromotion, promotes } from '../../../../tools/src/parity/gate.js';

const monolith: RouteStage = { stage: 'monolith', percent: 0 };
const shadow: RouteStage = { stage: 'shadow', percent: 0, sample: 10 };
const canary = (percent: number): RouteStage => ({ stage: 'canary', percent });
const service: RouteStage = { stage: 'service', percent: 100 };
const custom: RouteStage = { stage: 'custom', percent: undefined };

const parity = (compared: number, match: number): RouteParity => ({
  route: 'catalog-read',
  compared,
  match,
  differ: compared - match,
  failed: 0,
  dropped: 0,
  skipped: 0,
  byHash: 0,
  noiseSamples: 0,
  matchRate: compared ? match / compared : undefined,
  interval: undefined,
  endpoints: [],
  differences: [],
  noise: [],
});
const rule = { minParity: 0.99, minSamples: 500, window: '24h' };

describe('promotes', () => {
  it('gates every change that sends more of the route to the service', () => {
    expect(promotes(monolith, canary(10))).toBe(true);
    expect(promotes(shadow, canary(10))).toBe(true);
    expect(promotes(canary(10), canary(20))).toBe(true);
    expect(promotes(canary(10), service)).toBe(true);
    expect(promotes(monolith, service)).toBe(true);
    // Strategies ficus did not write: what they serve is unknown, so a move into them is gated.
    expect(promotes(monolith, custom)).toBe(true);
    expect(promotes(custom, canary(10))).toBe(true);
  });

  it('never gates a move back, nor one that serves the same share', () => {
    expect(promotes(service, canary(50))).toBe(false);
    expect(promotes(canary(20), canary(10))).toBe(false);
    expect(promotes(canary(10), canary(10))).toBe(false);
    expect(promotes(shadow, monolith)).toBe(false);
    expect(promotes(monolith, shadow)).toBe(false);
    for (const from of [shadow, canary(10), service, monolith]) expect(promotes(from, monolith)).toBe(false);
  });

  it('never gates a rollback from strategies ficus did not write', () => {
    expect(promotes(custom, monolith)).toBe(false);
    expect(promotes(custom, shadow)).toBe(false);
  });
});

describe('judgePromotion', () => {
  it('refuses too few compared samples', () => {
    expect(judgePromotion(rule, parity(100, 100))).toEqual({
      pass: false,
      reasons: ['100 compared samples, 500 needed (promote.minSamples)'],
    });
  });

  it('refuses a match rate below the bar', () => {
    expect(judgePromotion(rule, parity(1000, 985))).toEqual({
      pass: false,
      reasons: ['match rate 98.50 %, 99.00 % needed (promote.minParity)'],
    });
  });

  it('gives both reasons when both fall short', () => {
    expect(judgePromotion(rule, parity(100, 90)).reasons).toEqual([
      '100 compared samples, 500 needed (promote.minSamples)',
      'match rate 90.00 %, 99.00 % needed (promote.minParity)',
    ]);
  });

  it('says to shadow the route first when it has no comparisons at all', () => {
    expect(judgePromotion(rule, undefined)).toEqual({
      pass: false,
      reasons: [
        '0 compared samples, 500 needed (promote.minSamples)',
        'no shadow comparisons yet: put the route at --stage shadow first',
      ],
    });
  });

  it('passes at the bar exactly and above it', () => {
    expect(judgePromotion(rule, parity(500, 495))).toEqual({ pass: true, reasons: [] });
    expect(judgePromotion(rule, parity(10_000, 10_000))).toEqual({ pass: true, reasons: [] });
  });

  it('with minSamples 0 needs no samples, but still the match rate of those there are', () => {
    const any = { minParity: 0.99, minSamples: 0, window: '24h' };
    expect(judgePromotion(any, undefined)).toEqual({ pass: true, reasons: [] });
    expect(judgePromotion(any, parity(0, 0)).pass).toBe(true);
    expect(judgePromotion(any, parity(10, 5))).toEqual({
      pass: false,
      reasons: ['match rate 50.00 %, 99.00 % needed (promote.minParity)'],
    });
  });
});
