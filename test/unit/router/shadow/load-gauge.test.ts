import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { LoadGauge } from '../../../../router/src/shadow/load-gauge.js';

/** Keeps the event loop busy for `ms`, in slices so the gauge's timer still runs between them. */
async function busy(ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const slice = Date.now() + 45;
    while (Date.now() < slice) {}
    await sleep(1);
  }
}

describe('the load gauge that sheds shadow samples', () => {
  it('admits fewer samples while the event loop is saturated, and all again once it has room', async () => {
    const gauge = new LoadGauge({ threshold: 0.8, intervalMs: 50 });
    try {
      expect(gauge.admit).toBe(1);
      await busy(400);
      expect(gauge.admit).toBeLessThan(0.25);
      expect(gauge.admit).toBeGreaterThanOrEqual(1 / 64);
      await sleep(600);
      expect(gauge.admit).toBe(1);
    } finally {
      gauge.close();
    }
  });

  it('never sheds at threshold 1', async () => {
    const gauge = new LoadGauge({ threshold: 1, intervalMs: 50 });
    await busy(200);
    expect(gauge.admit).toBe(1);
    gauge.close();
  });
});
