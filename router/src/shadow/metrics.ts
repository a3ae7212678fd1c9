import { Counter, Histogram, type Registry } from 'prom-client';
import type { SampleOutcome } from './parity.js';

export interface ShadowMetrics {
  sampled(route: string, outcome: SampleOutcome, reason?: string): void;
  compared(seconds: number): void;
  storeFailed(lost: number): void;
}

/** Shadow traffic's Prometheus series, in the router's registry. */
export function createShadowMetrics(registry: Registry): ShadowMetrics {
  const samples = new Counter({
    name: 'ficus_shadow_samples_total',
    help: 'Shadow samples by route and outcome (match, differ, failed, dropped, skipped)',
    labelNames: ['route', 'outcome'],
    registers: [registry],
  });
  const drops = new Counter({
    name: 'ficus_shadow_dropped_total',
    help: 'Shadow samples not compared, by route and reason (concurrency, compare-queue, body-too-large, no-secret, a failure)',
    labelNames: ['route', 'outcome', 'reason'],
    registers: [registry],
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
      samples.inc({ route, outcome });
      if (reason) drops.inc({ route, outcome, reason: reason.replace(/^[^:]+: /, '') });
    },
    compared: (seconds) => comparison.observe(seconds),
    storeFailed: (lost) => store.inc(lost),
  };
}
