import { Piscina } from 'piscina';
import { compareSample, type CompareJob, type CompareResult } from './compare-sample.js';

/** Runs comparisons; `full` says a new job would be refused (the caller drops and counts it). */
export interface Comparator {
  compare(job: CompareJob): Promise<CompareResult>;
  readonly full: boolean;
  close(): Promise<void>;
}

/** Comparisons on the calling thread: for unit tests and small offline runs. */
export function inlineComparator(): Comparator {
  return {
    compare: async (job) => compareSample(job),
    full: false,
    close: async () => {},
  };
}

/**
 * Comparisons in a piscina worker pool, off the event loop that proxies: parsing and walking
 * two 1 MiB JSON bodies takes milliseconds that would otherwise land on every request's p99.
 * The queue is bounded; beyond it jobs are refused, never queued without limit.
 */
export function workerComparator(options: { threads: number; maxQueue: number }): Comparator {
  // From the sources (tsx, tests) the worker is TypeScript and needs tsx's loader; from the build, JavaScript.
  const fromSource = import.meta.url.endsWith('.ts');
  const pool = new Piscina({
    filename: new URL(`./compare-worker.${fromSource ? 'ts' : 'js'}`, import.meta.url).href,
    minThreads: 1,
    maxThreads: options.threads,
    maxQueue: options.maxQueue,
    // Jobs go to a worker without waiting for the proxying thread to take the last result: on a
    // busy event loop, one job at a time would leave the worker idle between jobs.
    concurrentTasksPerWorker: 32,
    idleTimeout: 60_000,
    ...(fromSource ? { execArgv: [...process.execArgv, '--import', import.meta.resolve('tsx')] } : {}),
  });
  return {
    compare: (job) => pool.run(job) as Promise<CompareResult>,
    get full() {
      return pool.queueSize >= options.maxQueue;
    },
    close: () => pool.destroy(),
  };
}
