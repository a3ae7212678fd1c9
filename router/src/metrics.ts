import { Counter, Gauge, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import type { BreakerState } from './proxy/upstream.js';
import type { ServedEvent } from './served-event.js';

/** What the admin API shows per route; derived from the same numbers as the Prometheus series. */
export interface RouteCount {
  /** Responses by the upstream that served them (`router` for the router's own errors). */
  servedBy: Record<string, number>;
  fallbacks: number;
  /** Responses with status 5xx. */
  errors: number;
}

export interface RouterMetrics {
  registry: Registry;
  routeCount(routeId: string): RouteCount;
  record(event: ServedEvent): void;
  retried(upstream: string): void;
  reloadFailed(file: string): void;
  /** A client deadline ran out (headers, body, request, send). */
  clientTimedOut(deadline: string): void;
  /** The flag source failed (a fetch, the file, a toggle it cannot read). */
  flagSourceFailed(source: string): void;
}

const latencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Timing {
  /** Per-bucket (not cumulative) counts; the last slot is +Inf. */
  counts: Float64Array;
  sum: number;
  count: number;
  statuses: Map<number, number>;
}

/**
 * Request counts and the latency histogram by route and upstream, kept in plain numbers on
 * the hot path (two map lookups, a short bucket scan, a few increments) and turned into
 * Prometheus series only when /metrics is scraped: the price of metrics is paid off the hot path.
 */
class RouteTimings {
  readonly #byRoute = new Map<string, Map<string, Timing>>();
  readonly #fallbacks = new Map<string, number>();

  fellBack(route: string): void {
    this.#fallbacks.set(route, (this.#fallbacks.get(route) ?? 0) + 1);
  }

  routeCount(route: string): RouteCount {
    const count: RouteCount = { servedBy: {}, fallbacks: this.#fallbacks.get(route) ?? 0, errors: 0 };
    for (const [upstream, timing] of this.#byRoute.get(route) ?? []) {
      count.servedBy[upstream] = timing.count;
      for (const [status, n] of timing.statuses) if (status >= 500) count.errors += n;
    }
    return count;
  }

  observe(route: string, upstream: string, status: number, seconds: number): void {
    let byUpstream = this.#byRoute.get(route);
    if (!byUpstream) this.#byRoute.set(route, (byUpstream = new Map()));
    let timing = byUpstream.get(upstream);
    if (!timing)
      byUpstream.set(
        upstream,
        (timing = { counts: new Float64Array(latencyBuckets.length + 1), sum: 0, count: 0, statuses: new Map() }),
      );
    let bucket = 0;
    while (bucket < latencyBuckets.length && seconds > latencyBuckets[bucket]!) bucket++;
    timing.counts[bucket]!++;
    timing.sum += seconds;
    timing.count++;
    timing.statuses.set(status, (timing.statuses.get(status) ?? 0) + 1);
  }

  *#each(): Generator<[string, string, Timing]> {
    for (const [route, byUpstream] of this.#byRoute)
      for (const [upstream, timing] of byUpstream) yield [route, upstream, timing];
  }

  requestsMetric() {
    const name = 'ficus_router_requests_total';
    return {
      name,
      help: 'Requests answered by the router, by route id, serving upstream and status',
      type: 'counter',
      aggregator: 'sum',
      reset: () => this.#byRoute.clear(),
      get: async () => ({
        name,
        help: 'Requests answered by the router, by route id, serving upstream and status',
        type: 'counter',
        aggregator: 'sum',
        values: [...this.#each()].flatMap(([route, upstream, timing]) =>
          [...timing.statuses].map(([status, value]) => ({
            labels: { route, upstream, status: String(status) },
            value,
          })),
        ),
      }),
    };
  }

  latencyMetric() {
    const name = 'ficus_router_request_duration_seconds';
    const help = 'Time from request to the end of the response, by route id and serving upstream';
    return {
      name,
      help,
      type: 'histogram',
      aggregator: 'sum',
      reset: () => this.#byRoute.clear(),
      get: async () => ({
        name,
        help,
        type: 'histogram',
        aggregator: 'sum',
        values: [...this.#each()].flatMap(([route, upstream, timing]) => {
          let cumulative = 0;
          const buckets = [...latencyBuckets, Number.POSITIVE_INFINITY].map((bound, i) => {
            cumulative += timing.counts[i]!;
            return {
              labels: { le: bound === Number.POSITIVE_INFINITY ? '+Inf' : bound, route, upstream },
              value: cumulative,
              metricName: `${name}_bucket`,
            };
          });
          return [
            ...buckets,
            { labels: { route, upstream }, value: timing.sum, metricName: `${name}_sum` },
            { labels: { route, upstream }, value: timing.count, metricName: `${name}_count` },
          ];
        }),
      }),
    };
  }
}

/** What the per-upstream gauges read of an upstream. */
interface UpstreamGauges {
  name: string;
  breakerState: BreakerState;
  inFlight: number;
  tunnels: number;
}

const breakerValue: Record<BreakerState, number> = { closed: 0, open: 1, 'half-open': 2, isolated: 3 };

/** prom-client metrics of the router; the per-request ones are RouteTimings, collected at scrape time. */
export function createRouterMetrics(sources: {
  /** The upstreams in force (an Upstream has these fields). */
  upstreams(): Iterable<UpstreamGauges>;
  flagSourceAgeSeconds(): number | undefined;
}): RouterMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const timings = new RouteTimings();
  registry.registerMetric(timings.requestsMetric() as unknown as Metric);
  registry.registerMetric(timings.latencyMetric() as unknown as Metric);
  const fallbacks = new Counter({
    name: 'ficus_router_fallbacks_total',
    help: 'Requests a failing service handed to the monolith, by route id, service and reason',
    labelNames: ['route', 'from', 'reason'] as const,
    registers: [registry],
  });
  const retries = new Counter({
    name: 'ficus_router_retries_total',
    help: 'Connection attempts repeated because the upstream never received the request',
    labelNames: ['upstream'] as const,
    registers: [registry],
  });
  const reloadErrors = new Counter({
    name: 'ficus_router_config_reload_errors_total',
    help: 'Route table or flag file reloads refused (the last good config stayed in force)',
    labelNames: ['file'] as const,
    registers: [registry],
  });
  // One gauge per upstream property, read off the upstreams in force at scrape time.
  const perUpstream = (name: string, help: string, value: (upstream: UpstreamGauges) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['upstream'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const upstream of sources.upstreams()) this.set({ upstream: upstream.name }, value(upstream));
      },
    });
  perUpstream(
    'ficus_router_breaker_state',
    'Circuit breaker state by upstream: 0 closed, 1 open, 2 half-open, 3 isolated',
    (u) => breakerValue[u.breakerState],
  );
  perUpstream(
    'ficus_router_upstream_in_flight',
    'Requests in flight per upstream (the bulkhead counts these)',
    (u) => u.inFlight,
  );
  perUpstream(
    'ficus_router_upstream_tunnels',
    'Upgraded connections (WebSocket tunnels) open per upstream; maxTunnels limits them',
    (u) => u.tunnels,
  );
  const clientTimeouts = new Counter({
    name: 'ficus_router_client_timeouts_total',
    help: 'Client connections cut by a client deadline: headers, body (idle), request (whole), send (stopped reading)',
    labelNames: ['deadline'] as const,
    registers: [registry],
  });
  const flagErrors = new Counter({
    name: 'ficus_router_flag_source_errors_total',
    help: 'Problems of the flag source: failed fetches (5xx, unreachable), unreadable flags files or toggles',
    labelNames: ['source'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'ficus_router_flag_source_age_seconds',
    help: 'Seconds since the flags were last confirmed current; -1 if they never were',
    registers: [registry],
    collect() {
      this.set(sources.flagSourceAgeSeconds() ?? -1);
    },
  });

  return {
    registry,
    routeCount: (routeId) => timings.routeCount(routeId),
    record(event) {
      timings.observe(event.routeId, event.upstream, event.status, event.durationMs / 1000);
      if (event.fallback) {
        timings.fellBack(event.routeId);
        fallbacks.inc({ route: event.routeId, from: event.fallback.from, reason: event.fallback.reason });
      }
    },
    retried: (upstream) => retries.inc({ upstream }),
    reloadFailed: (file) => reloadErrors.inc({ file }),
    clientTimedOut: (deadline) => clientTimeouts.inc({ deadline }),
    flagSourceFailed: (source) => flagErrors.inc({ source }),
  };
}
