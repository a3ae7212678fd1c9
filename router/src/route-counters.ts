import type { ServedEvent } from './served-event.js';

export interface RouteCount {
  /** Responses by the upstream that served them (`router` for the router's own errors). */
  servedBy: Record<string, number>;
  fallbacks: number;
  /** Responses with status 5xx. */
  errors: number;
}

/** Per-route counters for the admin API (Prometheus has the full breakdown). */
export class RouteCounters {
  readonly #counts = new Map<string, RouteCount>();

  readonly record = (event: ServedEvent): void => {
    let count = this.#counts.get(event.routeId);
    if (!count) this.#counts.set(event.routeId, (count = { servedBy: {}, fallbacks: 0, errors: 0 }));
    count.servedBy[event.upstream] = (count.servedBy[event.upstream] ?? 0) + 1;
    if (event.fallback) count.fallbacks++;
    if (event.status >= 500) count.errors++;
  };

  get(routeId: string): RouteCount {
    return this.#counts.get(routeId) ?? { servedBy: {}, fallbacks: 0, errors: 0 };
  }
}
