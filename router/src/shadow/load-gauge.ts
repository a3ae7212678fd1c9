import { performance, type EventLoopUtilization } from 'node:perf_hooks';

/**
 * How much shadow traffic the proxying event loop can afford right now. Mirroring costs the
 * thread that proxies (a copy, two more requests, a hand-off to the comparison pool), so when the
 * loop is busier than `threshold` the share of samples admitted halves, and it doubles back while
 * there is room: under saturating load shadow traffic yields to serving instead of taking from it,
 * and the samples it sheds are counted (`dropped`, reason `router-busy`).
 */
export class LoadGauge {
  readonly #threshold: number;
  readonly #floor: number;
  #admit = 1;
  #last: EventLoopUtilization = performance.eventLoopUtilization();
  readonly #timer: NodeJS.Timeout | undefined;

  constructor(options: { threshold: number; intervalMs?: number; floor?: number }) {
    this.#threshold = options.threshold;
    this.#floor = options.floor ?? 1 / 64;
    if (this.#threshold < 1) {
      this.#timer = setInterval(() => this.#tick(), options.intervalMs ?? 250);
      this.#timer.unref();
    }
  }

  #tick(): void {
    const now = performance.eventLoopUtilization();
    const { utilization } = performance.eventLoopUtilization(now, this.#last);
    this.#last = now;
    this.#admit = utilization > this.#threshold ? Math.max(this.#floor, this.#admit / 2) : Math.min(1, this.#admit * 2);
  }

  /** Share of samples admitted now, 0..1. */
  get admit(): number {
    return this.#admit;
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
  }
}
