import { Counter, Histogram, type Registry } from 'prom-client';
import type { SampleOutcome } from './parity.js';

export interface ShadowMetrics {
  sampled(route: string, outcome: SampleOutcome, reason?: string): void;
  compared(seconds: number): void;
  storeFailed(lost: number): void;
}

/** Shadow traffic's Prometheus series, in the router's registry. */
export function createShadowMetrics(registry: Registry): ShadowMetrics {
  // Plain numbers on the hot path (drops come in floods when the router is busiest), turned into
  // series only when /metrics is scraped.
  const samples = new Map<string, { route: string; outcome: string; count: number }>();
  const drops = new Map<string, { route: string; outcome: string; reason: string; count: number }>();
  new Counter({
    name: 'ficus_shadow_samples_total',
    help: 'Shadow samples by route and outcome (match, differ, failed, dropped, skipped)',
    labelNames: ['route', 'outcome'],
    registers: [registry],
    collect() {
      this.reset();
      for (const { route, outcome, count } of samples.values()) this.inc({ route, outcome }, count);
    },
  });
  new Counter({
    name: 'ficus_shadow_dropped_total',
    help: 'Shadow samples not compared, by route, outcome and reason (router-busy, concurrency, compare-queue, body-too-large, no-secret, a failure)',
    labelNames: ['route', 'outcome', 'reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const { route, outcome, reason, count } of drops.values()) this.inc({ route, outcome, reason }, count);
    },
  });
  const comparison = new Histogram({
    name: 'ficus_shadow_comparison_seconds',
    help: 'Time from the mirrored answers to the comparison result (worker pool queue included)',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  const store = new Counter({
    name: 'ficus_parity_store_lost_total',
    help: 'Shadow results lost because the parity store could not be written',
    registers: [registry],
  });
  return {
    sampled: (route, outcome, reason) => {
      const key = `${route}\u0000${outcome}`;
      const seen = samples.get(key);
      if (seen) seen.count++;
      else samples.set(key, { route, outcome, count: 1 });
      if (!reason) return;
      // A failure's reason starts with the upstream's name: `catalog: UND_ERR_HEADERS_TIMEOUT`.
      const cause = reason.includes(': ') ? reason.slice(reason.indexOf(': ') + 2) : reason;
      const dropKey = `${key}\u0000${cause}`;
      const dropped = drops.get(dropKey);
      if (dropped) dropped.count++;
      else drops.set(dropKey, { route, outcome, reason: cause, count: 1 });
    },
    compared: (seconds) => comparison.observe(seconds),
    storeFailed: (lost) => store.inc(lost),
  };
}
