import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { Pool } from 'undici';
import { CircuitState, ConsecutiveBreaker, circuitBreaker, handleWhen, type CircuitBreakerPolicy } from 'cockatiel';
import type { UpstreamSpec } from '../route-table/schema.js';
import { UpstreamError, type UpstreamResponse } from './send.js';

export type BreakerState = 'closed' | 'open' | 'half-open' | 'isolated';

const stateNames: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'isolated',
};

/**
 * One upstream's connection pool, bulkhead and circuit breaker. Kept across route-table
 * reloads while its spec is unchanged, so pools and breaker state survive a reload.
 * The standalone router sends through an undici pool (its HTTP client costs well under
 * node:http's per request); the express middleware, built on http-proxy-middleware, through
 * a node:http agent.
 */
export class Upstream {
  readonly name: string;
  readonly spec: UpstreamSpec;
  readonly url: URL;
  readonly agent: HttpAgent;
  readonly pool: Pool;
  readonly breaker: CircuitBreakerPolicy;
  #inFlight = 0;
  #retired = false;

  constructor(name: string, spec: UpstreamSpec, onBreakerChange?: (name: string, state: BreakerState) => void) {
    this.name = name;
    this.spec = spec;
    this.url = new URL(spec.url);
    const options = { keepAlive: true, maxSockets: spec.maxConcurrent, maxFreeSockets: spec.maxConcurrent, scheduling: 'lifo' as const };
    this.agent = this.url.protocol === 'https:' ? new HttpsAgent(options) : new HttpAgent(options);
    // responseTimeoutMs bounds the wait for headers and every pause within a body: a body that
    // stalls cannot hold the client and a bulkhead slot for ever.
    this.pool = new Pool(this.url.origin, {
      connections: spec.maxConcurrent,
      connect: { timeout: spec.connectTimeoutMs },
      headersTimeout: spec.responseTimeoutMs,
      bodyTimeout: spec.responseTimeoutMs,
    });
    // Failures that say the upstream is unwell (errors, timeouts, 5xx); a full bulkhead is not one.
    const unwell = handleWhen((error) => error instanceof UpstreamError && error.failure !== 'saturated').orWhenResult(
      (response) => (response as UpstreamResponse).statusCode >= 500,
    );
    this.breaker = circuitBreaker(unwell, {
      halfOpenAfter: spec.breaker.halfOpenAfterMs,
      breaker: new ConsecutiveBreaker(spec.breaker.consecutiveFailures),
    });
    if (onBreakerChange) this.breaker.onStateChange((state) => onBreakerChange(name, stateNames[state]));
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get breakerState(): BreakerState {
    return stateNames[this.breaker.state];
  }

  /** Bulkhead: takes a slot unless maxConcurrent requests are already in flight. */
  tryAcquire(): boolean {
    if (this.#inFlight >= this.spec.maxConcurrent) return false;
    this.#inFlight++;
    return true;
  }

  release(): void {
    this.#inFlight--;
    if (this.#retired && this.#inFlight === 0) this.close();
  }

  /**
   * Replaced by a reload: requests in flight finish on their sockets, then the pool closes.
   * (Until they finish, the new runtime's bulkhead does not count them.)
   */
  retire(): void {
    this.#retired = true;
    if (this.#inFlight === 0) this.close();
  }

  sameAs(spec: UpstreamSpec): boolean {
    return JSON.stringify(spec) === JSON.stringify(this.spec);
  }

  close(): void {
    this.agent.destroy();
    if (!this.pool.destroyed) void this.pool.destroy();
  }
}
