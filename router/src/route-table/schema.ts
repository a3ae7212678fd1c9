import { z } from 'zod';

const name = z.string().regex(/^[a-z][a-z0-9-]*$/, 'use lower-case letters, digits and -');
const methods = ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** One upstream the router forwards to: the monolith or an extracted service. */
export const upstreamSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }),
  /** Give up connecting after this long (then retry or fall back). */
  connectTimeoutMs: z.number().int().positive().default(1000),
  /** Give up waiting for response headers after this long; also the longest pause allowed within a response body (checked on a half-second clock, so it fires up to about a second late). */
  responseTimeoutMs: z.number().int().positive().default(30_000),
  /** Bulkhead: requests in flight at once; beyond it, fall back or 503 with Retry-After. */
  maxConcurrent: z.number().int().positive().default(256),
  /**
   * Upgraded connections (WebSocket tunnels) open at once; they count apart from the bulkhead,
   * since a tunnel holds its connection for as long as it lives. Beyond it, 503.
   */
  maxTunnels: z.number().int().positive().default(1024),
  /** Extra attempts for idempotent requests whose connection failed (never received). */
  retries: z.number().int().min(0).max(5).default(2),
  breaker: z
    .strictObject({
      /** Consecutive failures (connection errors, timeouts, 5xx) that open the circuit. */
      consecutiveFailures: z.number().int().positive().default(5),
      /** How long the circuit stays open before one trial request is let through. */
      halfOpenAfterMs: z.number().int().positive().default(5000),
    })
    .prefault({}),
});

const fieldPath = z.string().regex(/^\$?[A-Za-z0-9_.*[\]-]*$/, 'expected a JSON path such as $.items[*].updatedAt');
const headerPattern = z.string().regex(/^[A-Za-z0-9*-]+$/, 'expected a header name, * allowed: x-*');

/** How a route's shadow traffic is compared; every field optional. */
const shadowSchema = z.strictObject({
  /**
   * Non-idempotent requests (POST, PATCH) are mirrored only with `dry-run`: signed, run by the
   * candidate's chassis in a transaction it rolls back, with external ports in dry-run mode.
   */
  writes: z.enum(['off', 'dry-run']).default('off'),
  /** JSON fields left out of the comparison: `$.generatedAt`, `$.items[*].etag`, `$.meta.**`. */
  ignore: z.array(fieldPath).default([]),
  /** Response headers compared (default content-type); wildcards as in `x-catalog-*`. */
  headers: z.array(headerPattern).default(['content-type']),
  /** Headers never compared even when `headers` names them. */
  ignoreHeaders: z.array(headerPattern).default([]),
  /** Numbers closer than this are equal (absolute). */
  tolerance: z.number().nonnegative().default(0),
  /** Arrays compared as sets where order does not matter: `$.tags`, `$.items[*].labels`. */
  unordered: z.array(fieldPath).default([]),
  /** Mirrored requests in flight at once for this route; beyond it samples are dropped and counted. */
  concurrency: z.number().int().positive().max(1024).default(16),
  /** Ask the serving upstream a second time for idempotent requests, to learn which fields are noise. */
  learnNoise: z.boolean().default(true),
});

/** The parity a route needs before `ficus flags set` moves it to canary or service. */
const promoteSchema = z.strictObject({
  /** Share of compared samples that must match, 0..1 (default 0.99). */
  minParity: z.number().min(0).max(1).default(0.99),
  /** Compared samples needed before the parity counts (default 500). */
  minSamples: z.number().int().min(0).default(500),
  /** How far back samples count: `30m`, `1h`, `7d` (default 24h), so a fixed difference ages out. */
  window: z
    .string()
    .regex(/^\d+(s|m|h|d)$/, 'expected a duration such as 30m, 1h or 7d')
    .default('24h'),
});

const routeSchema = z.strictObject({
  id: name,
  match: z.strictObject({
    /** `/api/v1/orders`, `/api/v1/orders/:id` or `/api/v1/orders/**`. */
    path: z.string(),
    /** Methods this route takes; all when omitted. */
    methods: z.array(z.enum(methods)).min(1).optional(),
    /** Request headers that must have exactly these values, e.g. `accept-version: "2"`. */
    headers: z.record(z.string().regex(/^[A-Za-z0-9-]+$/, 'expected a header name'), z.string()).optional(),
  }),
  /** The upstream that takes this route over from the default upstream. */
  service: z
    .string({
      error: (issue) =>
        issue.input === undefined
          ? 'missing: name the upstream that takes this route over (on a retired route, the service that serves all of it)'
          : undefined,
    })
    .pipe(name),
  /** Unleash toggle that decides the stage; `ficus.<id>` by default. */
  flag: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/, 'use letters, digits, . _ -')
    .optional(),
  /**
   * `retired`: the module is gone from the monolith, so the service serves every request of the
   * route whatever its flags say, with no fallback and no shadow traffic. Declared here rather
   * than in a flag because there is nothing left to set back to. Omitted: the flag decides.
   */
  stage: z.literal('retired').optional(),
  /**
   * What serves the request when the service fails: `monolith` (the default upstream) or `none`.
   * Default `monolith`, and `none` on a retired route (the load step fills it in, knowing the stage).
   */
  fallback: z.enum(['monolith', 'none']).optional(),
  /**
   * Upgrade protocols (the `Upgrade` header) this route tunnels; others are refused with 400.
   * Only WebSocket unless the route allows more (e.g. `[websocket, h2c]`).
   */
  upgrades: z
    .array(z.string().regex(/^[A-Za-z0-9._-]+$/, 'expected a protocol name such as websocket'))
    .default(['websocket']),
  /** Which context field keeps a user on one side during a canary. */
  stickiness: z.enum(['userId', 'sessionId', 'default']).default('userId'),
  /** Comparison rules of this route's shadow traffic; `defaultShadowRules` when omitted. */
  shadow: shadowSchema.optional(),
  /** The parity gate on promotion; `false` turns it off for this route. */
  promote: z.union([z.literal(false), promoteSchema]).prefault({}),
});

export const routeTableSchema = z.strictObject({
  version: z.literal(1).default(1),
  upstreams: z.record(name, upstreamSchema).refine((u) => Object.keys(u).length > 0, 'declare at least one upstream'),
  /** Serves everything no route (or no flag) moves elsewhere: the monolith. */
  defaultUpstream: name,
  routes: z.array(routeSchema).default([]),
});

export type UpstreamSpec = z.output<typeof upstreamSchema>;
export type RouteSpec = z.output<typeof routeSchema>;
export type ShadowRules = z.output<typeof shadowSchema>;
/** A route's shadow rules when its table says nothing: the schema's defaults. */
export const defaultShadowRules: Readonly<ShadowRules> = Object.freeze(shadowSchema.parse({}));
export type PromoteRule = z.output<typeof promoteSchema>;
