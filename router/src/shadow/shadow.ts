import type { Registry } from 'prom-client';
import type { Logger } from '../../../platform/src/index.js';
import type { RouterState } from '../state.js';
import { CaptureWriter } from './capture.js';
import { workerComparator, type Comparator } from './comparator.js';
import { createShadowMetrics } from './metrics.js';
import { Mirror } from './mirror.js';
import { ParityRecorder } from './parity.js';
import { redactRules } from './redact.js';
import { MemoryParityStore, type ParityStore } from './store.js';

/** Shadow traffic's settings, for both router forms. Every field has a default. */
export interface ShadowOptions {
  /** Where parity results go (default: memory, this router only). */
  store?: ParityStore;
  /** HMAC secret signing mirrored requests of routes with `writes: dry-run`. */
  secret?: string | undefined;
  /** Response bytes kept whole for comparison (default 1 MiB); larger bodies compare by length and hash. */
  bodyLimit?: number;
  /** Longest wait for a mirrored answer (default 5000 ms). */
  timeoutMs?: number;
  /** Comparison worker threads (default 1) and the jobs queued for them at most (default 256). */
  threads?: number;
  maxQueue?: number;
  /** Record sampled exchanges to this file (JSON lines) for `ficus replay`, up to `maxBytes` (default 100 MiB). */
  capture?: { file: string; maxBytes?: number } | undefined;
  /** Header and JSON field names redacted in examples and captures, besides the defaults. */
  redact?: { headers?: string[]; fields?: string[] };
  /** Event-loop utilization above which samples are shed so serving keeps its capacity (default 0.9; 1: never). */
  shedAbove?: number;
  /** Samples mirrored per second at most by this router (default 200; 0: no limit). */
  maxPerSecond?: number;
  /** Runs the comparisons; default a piscina worker pool started on the first sample. */
  comparator?: Comparator;
}

export interface Shadow {
  mirror: Mirror;
  recorder: ParityRecorder;
  close(): Promise<void>;
}

/** A comparator created on first use: a router whose routes never sample starts no worker thread. */
function lazyComparator(threads: number, maxQueue: number): Comparator {
  let pool: Comparator | undefined;
  return {
    compare: (job) => (pool ??= workerComparator({ threads, maxQueue })).compare(job),
    get full() {
      return pool?.full ?? false;
    },
    close: async () => pool?.close(),
  };
}

/** Wires the mirror, the comparison pool, the recorder and its store, and their metrics. */
export function createShadow(
  options: ShadowOptions,
  context: { state: RouterState; logger: Logger; registry: Registry },
): Shadow {
  const logger = context.logger.child({ component: 'shadow' });
  const metrics = createShadowMetrics(context.registry);
  const rules = redactRules(options.redact);
  const recorder = new ParityRecorder({
    store: options.store ?? new MemoryParityStore(),
    events: { sampled: metrics.sampled, storeFailed: metrics.storeFailed },
    redact: rules,
    logger,
  });
  const comparator = options.comparator ?? lazyComparator(options.threads ?? 1, options.maxQueue ?? 256);
  const capture = options.capture
    ? new CaptureWriter(options.capture.file, {
        maxBytes: options.capture.maxBytes ?? 100 * 1024 * 1024,
        rules,
        logger,
      })
    : undefined;
  const mirror = new Mirror({
    state: context.state,
    comparator,
    recorder,
    logger,
    secret: options.secret,
    capture,
    onCompared: metrics.compared,
    ...(options.shedAbove === undefined ? {} : { shedAbove: options.shedAbove }),
    ...(options.maxPerSecond === undefined ? {} : { maxPerSecond: options.maxPerSecond }),
    ...(options.bodyLimit ? { bodyLimit: options.bodyLimit } : {}),
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  });
  let closing: Promise<void> | undefined;
  return {
    mirror,
    recorder,
    close: () =>
      (closing ??= (async () => {
        await mirror.close();
        await comparator.close();
        await capture?.close();
        await recorder.close();
        await recorder.store.close();
      })()),
  };
}
