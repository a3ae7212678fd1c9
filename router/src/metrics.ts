import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ServedEvent } from './served-event.js';

export interface RouterMetrics {
  registry: Registry;
  record(event: ServedEvent): void;
  retried(upstream: string): void;
  reloadFailed(file: string): void;
}

/**
 * prom-client metrics of the router. Labelled children are cached per label combination so a
 * request costs two map lookups and two increments, not label hashing.
 */
export function createRouterMetrics(sources: {
  breakerStates(): Iterable<[string, number]>;
  inFlight(): Iterable<[string, number]>;
  flagSourceAgeSeconds(): number | undefined;
}): RouterMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'ficus_router_requests_total',
    help: 'Requests answered by the router, by route id, serving upstream and status',
    labelNames: ['route', 'upstream', 'status'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'ficus_router_request_duration_seconds',
    help: 'Time from request to the end of the response, by route id and serving upstream',
    labelNames: ['route', 'upstream'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
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
  new Gauge({
    name: 'ficus_router_breaker_state',
    help: 'Circuit breaker state by upstream: 0 closed, 1 open, 2 half-open, 3 isolated',
    labelNames: ['upstream'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [upstream, state] of sources.breakerStates()) this.set({ upstream }, state);
    },
  });
  new Gauge({
    name: 'ficus_router_upstream_in_flight',
    help: 'Requests in flight per upstream (the bulkhead counts these)',
    labelNames: ['upstream'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [upstream, count] of sources.inFlight()) this.set({ upstream }, count);
    },
  });
  new Gauge({
    name: 'ficus_router_flag_source_age_seconds',
    help: 'Seconds since the flags were last confirmed current; -1 if they never were',
    registers: [registry],
    collect() {
      this.set(sources.flagSourceAgeSeconds() ?? -1);
    },
  });

  interface Children {
    latency: { observe(value: number): void };
    byStatus: Map<number, { inc(): void }>;
  }
  // route → upstream → labelled children: no label strings built per request.
  const children = new Map<string, Map<string, Children>>();
  return {
    registry,
    record(event) {
      let byUpstream = children.get(event.routeId);
      if (!byUpstream) children.set(event.routeId, (byUpstream = new Map()));
      let child = byUpstream.get(event.upstream);
      if (!child) byUpstream.set(event.upstream, (child = { latency: latency.labels(event.routeId, event.upstream), byStatus: new Map() }));
      child.latency.observe(event.durationMs / 1000);
      let counter = child.byStatus.get(event.status);
      if (!counter) child.byStatus.set(event.status, (counter = requests.labels(event.routeId, event.upstream, String(event.status))));
      counter.inc();
      if (event.fallback) fallbacks.inc({ route: event.routeId, from: event.fallback.from, reason: event.fallback.reason });
    },
    retried: (upstream) => retries.inc({ upstream }),
    reloadFailed: (file) => reloadErrors.inc({ file }),
  };
}
