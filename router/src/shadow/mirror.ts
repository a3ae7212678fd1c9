import type { Pool } from 'undici';
import { shadowHeader, signShadowRequest, type Logger } from '../../../platform/src/index.js';
import type { Decision } from '../decide.js';
import { idempotentMethods } from '../proxy/send.js';
import type { Upstream } from '../proxy/upstream.js';
import type { RouterState } from '../state.js';
import { ask, mirrorPool } from './ask.js';
import type { CapturedBody } from './bounded-copy.js';
import type { Answer, CompareJob } from './compare-sample.js';
import type { Comparator } from './comparator.js';
import type { CaptureWriter } from './capture.js';
import { endpointOf } from './endpoint.js';
import { LoadGauge } from './load-gauge.js';
import type { ParityRecorder, SampleMeta } from './parity.js';

/** Answers held for comparison at most, in bytes (64 MiB); beyond it samples are dropped (`compare-queue`). */
const maxComparingBytes = 64 * 1024 * 1024;

/** A response the client got in full, with the bounded copy kept of it: what the mirror replays. */
export interface ServedSample {
  decision: Decision;
  servedBy: Upstream;
  method: string;
  /** Normalized path plus query, as sent upstream. */
  path: string;
  /** As sent to the serving upstream (Host first). */
  requestHeaders: readonly string[];
  requestBody: Buffer | null;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: CapturedBody;
}

/** What the proxy asks of shadow traffic: whether to keep a copy of this response, and the copy when done. */
export interface ShadowTap {
  wants(decision: Decision, method: string, path: string, body: 'none' | 'buffered' | 'streamed'): boolean;
  readonly bodyLimit: number;
  offer(sample: ServedSample): void;
}

export interface MirrorOptions {
  state: RouterState;
  comparator: Comparator;
  recorder: ParityRecorder;
  logger: Logger;
  /** Bytes of a body kept whole for comparison (default 1 MiB); beyond it length and hash. */
  bodyLimit?: number;
  /** Longest wait for a mirrored answer, headers and body (default 5 s). */
  timeoutMs?: number;
  /** Signs mirrored requests of dry-run routes; without it their writes are not mirrored. */
  secret?: string | undefined;
  capture?: CaptureWriter | undefined;
  /** Connections per upstream of the mirror's own pools (default 32). */
  connections?: number;
  random?: () => number;
  /** Seconds each comparison took, queue included (a metric). */
  onCompared?: (seconds: number) => void;
  /**
   * Event-loop utilization (0..1) above which samples are shed, so shadow traffic never takes
   * capacity from serving (default 0.9; 1 never sheds).
   */
  shedAbove?: number;
  /**
   * Samples mirrored per second at most by this router, whatever the sample rate (default 200; 0:
   * no limit). Each costs the serving upstream a second answer and the candidate one: a 100 %
   * sample on a busy route must not double the monolith's load. Beyond it samples are dropped (`rate`).
   */
  maxPerSecond?: number;
}

/** Mirrors the routes that sample: the other upstream answers, the serving one again for noise; then compares. */
export class Mirror implements ShadowTap {
  readonly bodyLimit: number;
  readonly #options: MirrorOptions;
  readonly #timeoutMs: number;
  readonly #pools = new Map<string, Pool>();
  readonly #inFlight = new Map<string, number>();
  readonly #random: () => number;
  readonly #load: LoadGauge;
  readonly #rate: number;
  #tokens: number;
  #refilledAt = performance.now();
  /** Bytes of answers waiting for or in a comparison: bounded, whatever the queue's length in jobs. */
  #comparing = 0;
  #warnedNoSecret = false;
  #closed = false;

  constructor(options: MirrorOptions) {
    this.#options = options;
    this.#load = new LoadGauge({ threshold: options.shedAbove ?? 0.9 });
    this.#rate = options.maxPerSecond ?? 200;
    this.#tokens = this.#rate;
    this.bodyLimit = options.bodyLimit ?? 1024 * 1024;
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#random = options.random ?? Math.random;
  }

  /** Called on the hot path for every request of a sampling route: cheap checks only. */
  wants(decision: Decision, method: string, path: string, body: 'none' | 'buffered' | 'streamed'): boolean {
    const { route } = decision;
    if (!route || this.#closed || this.#random() * 100 >= decision.sample) return false;
    // A canary compares its monolith-served share; at service the service's answers (rampdown).
    const servedByService = decision.primary.name === route.service;
    if (servedByService ? decision.stage !== 'service' : decision.stage === 'service') return false;
    const meta = () => ({ routeId: route.id, endpoint: endpointOf(method, path), method });
    if (!idempotentMethods.has(method)) {
      if (route.shadow.writes !== 'dry-run') return false;
      if (!this.#options.secret) {
        if (!this.#warnedNoSecret)
          this.#options.logger.warn(
            { route: route.id },
            'route shadows writes (dry-run) but the router has no SHADOW_SECRET; its writes are not mirrored',
          );
        this.#warnedNoSecret = true;
        this.#options.recorder.uncompared(meta(), 'skipped', 'no-secret');
        return false;
      }
    }
    if (body === 'streamed') {
      this.#options.recorder.uncompared(meta(), 'skipped', 'body-too-large');
      return false;
    }
    // Shed before the response is copied: a sample that cannot be mirrored costs a counter, no more.
    if (this.#rate > 0 && !this.#take()) return this.#drop(route.id, 'rate');
    if (this.#load.admit < 1 && this.#random() >= this.#load.admit) return this.#drop(route.id, 'router-busy');
    if (!this.#options.capture && (this.#inFlight.get(route.id) ?? 0) >= route.shadow.concurrency)
      return this.#drop(route.id, 'concurrency');
    return true;
  }

  /** A token of the per-second budget (a bucket holding one second's worth). */
  #take(): boolean {
    const now = performance.now();
    this.#tokens = Math.min(this.#rate, this.#tokens + ((now - this.#refilledAt) * this.#rate) / 1000);
    this.#refilledAt = now;
    if (this.#tokens < 1) return false;
    this.#tokens--;
    return true;
  }

  #drop(routeId: string, reason: string): false {
    this.#options.recorder.dropped(routeId, reason);
    return false;
  }

  offer(sample: ServedSample): void {
    const route = sample.decision.route!;
    const meta: SampleMeta = {
      routeId: route.id,
      endpoint: endpointOf(sample.method, sample.path),
      method: sample.method,
      path: sample.path,
      requestHeaders: sample.requestHeaders,
      requestBody: sample.requestBody,
      primaryUpstream: sample.servedBy.name,
      candidateUpstream: '',
    };
    this.#options.capture?.write(route.id, sample);
    const busy = this.#inFlight.get(route.id) ?? 0;
    if (busy >= route.shadow.concurrency) return void this.#drop(route.id, 'concurrency');
    if (this.#options.comparator.full) return void this.#drop(route.id, 'compare-queue');
    const { state } = this.#options;
    const candidate =
      sample.servedBy.name === route.service
        ? state.upstream(state.table.defaultUpstream)
        : state.upstreams.get(route.service);
    if (!candidate) return this.#options.recorder.uncompared(meta, 'skipped', 'no-candidate');
    meta.candidateUpstream = candidate.name;
    this.#inFlight.set(route.id, busy + 1);
    void this.#run(sample, meta, candidate, () =>
      this.#inFlight.set(route.id, (this.#inFlight.get(route.id) ?? 1) - 1),
    );
  }

  /** Asks both upstreams (holding the route's slot until both answered), then compares in the pool. */
  async #run(sample: ServedSample, meta: SampleMeta, candidateUpstream: Upstream, release: () => void): Promise<void> {
    const route = sample.decision.route!;
    const { recorder, comparator } = this.#options;
    const primary: Answer = { status: sample.status, headers: sample.headers, body: sample.body };
    const noise = route.shadow.learnNoise && idempotentMethods.has(sample.method);
    const [candidate, secondary] = await Promise.all([
      this.#ask(candidateUpstream, sample),
      noise ? this.#ask(sample.servedBy, sample) : undefined,
    ]).finally(release);
    if ('error' in candidate) return recorder.uncompared(meta, 'failed', candidate.error);
    const bytes = [primary, candidate, secondary].reduce(
      (sum, answer) => sum + (answer && !('error' in answer) ? (answer.body.bytes?.length ?? 0) : 0),
      0,
    );
    if (comparator.full || this.#comparing + bytes > maxComparingBytes)
      return void this.#drop(meta.routeId, 'compare-queue');
    this.#comparing += bytes;
    const job: CompareJob = {
      primary,
      candidate,
      secondary,
      rules: route.shadow,
      bodyLimit: this.bodyLimit,
    };
    try {
      const started = performance.now();
      const result = await comparator.compare(job);
      this.#options.onCompared?.((performance.now() - started) / 1000);
      recorder.record(meta, { primary, candidate }, result);
    } catch (error) {
      // piscina refuses a job beyond maxQueue ("Task queue is at limit"): a drop, not a failure.
      const queueFull = /queue is (at limit|full)/i.test((error as Error).message);
      if (queueFull) this.#drop(meta.routeId, 'compare-queue');
      else recorder.uncompared(meta, 'failed', 'compare-error');
      if (!queueFull)
        this.#options.logger.warn({ route: route.id, err: (error as Error).message }, 'shadow comparison failed');
    } finally {
      this.#comparing -= bytes;
    }
  }

  #pool(upstream: Upstream): Pool {
    let pool = this.#pools.get(upstream.url.origin);
    if (!pool || pool.destroyed) {
      pool = mirrorPool(upstream.url.origin, {
        connections: this.#options.connections ?? 32,
        timeoutMs: this.#timeoutMs,
        connectTimeoutMs: upstream.spec.connectTimeoutMs,
      });
      this.#pools.set(upstream.url.origin, pool);
    }
    return pool;
  }

  /** One mirrored request to `upstream`, signed for dry-run routes. */
  #ask(upstream: Upstream, sample: ServedSample): Promise<Answer> {
    const headers = [...sample.requestHeaders];
    headers[1] = upstream.url.host;
    const { route } = sample.decision;
    if (route?.shadow.writes === 'dry-run' && this.#options.secret)
      headers.push(shadowHeader, signShadowRequest(this.#options.secret, { method: sample.method, path: sample.path }));
    // Read no further than needed: past the copy limit when the primary fit it, past the primary's length otherwise.
    const readLimit = sample.body.bytes ? this.bodyLimit : sample.body.length;
    return ask(
      this.#pool(upstream),
      upstream.name,
      { method: sample.method, path: sample.path, headers, body: sample.requestBody },
      { bodyLimit: this.bodyLimit, readLimit, timeoutMs: this.#timeoutMs },
    );
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#load.close();
    await Promise.all([...this.#pools.values()].map((pool) => pool.destroy()));
  }
}
