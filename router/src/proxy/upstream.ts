import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { Pool } from 'undici';
import {
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  circuitBreaker,
  handleWhen,
  retry,
  type CircuitBreakerPolicy,
  type RetryPolicy,
} from 'cockatiel';
import type { UpstreamSpec } from '../route-table/schema.js';
import { UpstreamError, type UpstreamResponse } from './send.js';

export type BreakerState = 'closed' | 'open' | 'half-open' | 'isolated';

/** Failures that say nothing about the upstream's health. */
const clientsFault: ReadonlySet<string> = new Set(['saturated', 'aborted', 'client-timeout']);

const stateNames: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'isolated',
};

/**
 * One upstream's connection pool, bulkhead, tunnel limit, circuit breaker and retry policy.
 * Kept across route-table reloads while its spec is unchanged, so pools and breaker state
 * survive a reload. The standalone router sends through an undici pool (its HTTP client costs
 * well under node:http's per request); the express middleware, built on
 * http-proxy-middleware, through a node:http agent.
 */
export class Upstream {
  readonly name: string;
  readonly spec: UpstreamSpec;
  readonly url: URL;
  readonly agent: HttpAgent;
  readonly breaker: CircuitBreakerPolicy;
  /**
   * Jittered exponential retries of connection failures only: the upstream never saw those
   * requests. The first try happens outside the policy (the happy path pays nothing), and
   * execute() tries once at once: the first retry is immediate, later ones back off.
   */
  readonly retry: RetryPolicy;
  #pool: Pool;
  #inFlight = 0;
  #tunnels = 0;
  #retired = false;
  #closed = false;

  constructor(name: string, spec: UpstreamSpec, onBreakerChange?: (name: string, state: BreakerState) => void) {
    this.name = name;
    this.spec = spec;
    this.url = new URL(spec.url);
    const options = {
      keepAlive: true,
      maxSockets: spec.maxConcurrent,
      maxFreeSockets: spec.maxConcurrent,
      scheduling: 'lifo' as const,
    };
    this.agent = this.url.protocol === 'https:' ? new HttpsAgent(options) : new HttpAgent(options);
    this.#pool = this.#newPool();
    // Failures that say the upstream is unwell (errors, timeouts, 5xx); a full bulkhead or a
    // client that hung up or stalled mid-upload is not one.
    // While half-open, a trial the client cut short proves nothing: cockatiel would take it as a
    // success and close the circuit, so there it counts as a failure and the circuit stays open.
    const trial = () => this.breaker.state === CircuitState.HalfOpen;
    const unwell = handleWhen(
      (error) => error instanceof UpstreamError && (!clientsFault.has(error.failure) || trial()),
    ).orWhenResult((response) => {
      const status = (response as UpstreamResponse).statusCode;
      return status >= 500 || (status === 499 && trial());
    });
    this.breaker = circuitBreaker(unwell, {
      halfOpenAfter: spec.breaker.halfOpenAfterMs,
      breaker: new ConsecutiveBreaker(spec.breaker.consecutiveFailures),
    });
    if (onBreakerChange) this.breaker.onStateChange((state) => onBreakerChange(name, stateNames[state]));
    this.retry = retry(
      handleWhen((error) => error instanceof UpstreamError && error.failure === 'connect'),
      {
        maxAttempts: Math.max(0, spec.retries - 1),
        backoff: new ExponentialBackoff({ initialDelay: 20, maxDelay: 400 }),
      },
    );
  }

  #newPool(): Pool {
    // responseTimeoutMs bounds the wait for headers and every pause within a body: a body that
    // stalls cannot hold the client and a bulkhead slot for ever.
    return new Pool(this.url.origin, {
      connections: this.spec.maxConcurrent,
      connect: { timeout: this.spec.connectTimeoutMs },
      headersTimeout: this.spec.responseTimeoutMs,
      bodyTimeout: this.spec.responseTimeoutMs,
    });
  }

  /**
   * The undici pool, used only while holding a bulkhead slot. A retired upstream closes its
   * pool once idle; a request decided before the reload (or falling back to it later) gets a
   * fresh one, which closes again when that request is done.
   */
  get pool(): Pool {
    if (this.#pool.destroyed && !this.#closed) this.#pool = this.#newPool();
    return this.#pool;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get breakerState(): BreakerState {
    return stateNames[this.breaker.state];
  }

  /**
   * Whether a request may try this upstream now. While the breaker's one trial request is in
   * flight (half-open) every other request is refused at once, so it takes the fallback
   * instead of waiting for the trial (cockatiel would hold it until the trial ends).
   */
  get probing(): boolean {
    return this.breaker.state === CircuitState.HalfOpen;
  }

  get tunnels(): number {
    return this.#tunnels;
  }

  /** Tunnel limit: takes a slot for an upgraded connection unless maxTunnels are open. */
  tryOpenTunnel(): boolean {
    if (this.#tunnels >= this.spec.maxTunnels) return false;
    this.#tunnels++;
    return true;
  }

  closeTunnel(): void {
    this.#tunnels--;
  }

  /** Bulkhead: takes a slot unless maxConcurrent requests are already in flight. */
  tryAcquire(): boolean {
    if (this.#inFlight >= this.spec.maxConcurrent) return false;
    this.#inFlight++;
    return true;
  }

  release(): void {
    this.#inFlight--;
    if (this.#retired && this.#inFlight === 0) this.#closePool();
  }

  /**
   * Replaced by a reload: requests in flight finish on their sockets, then the pool closes.
   * (Until they finish, the new runtime's bulkhead does not count them.)
   */
  retire(): void {
    this.#retired = true;
    if (this.#inFlight === 0) this.#closePool();
  }

  sameAs(spec: UpstreamSpec): boolean {
    return JSON.stringify(spec) === JSON.stringify(this.spec);
  }

  #closePool(): void {
    if (!this.#pool.destroyed) void this.#pool.destroy();
  }

  /** Router shutdown: for good. */
  close(): void {
    this.#closed = true;
    this.agent.destroy();
    this.#closePool();
  }
}
