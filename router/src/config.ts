import { z } from 'zod';
import { byteSize, port, postgresUrl } from '../../platform/src/index.js';
import { defaultClientDeadlines } from './proxy/client-deadlines.js';
import { addressEntryProblem } from './trusted-addresses.js';

const milliseconds = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const addressList = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean),
  )
  .superRefine((entries, ctx) => {
    for (const entry of entries) {
      const problem = addressEntryProblem(entry);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }
  });
const list = z.string().transform((value) =>
  value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean),
);
const flag = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/** The router's environment; validated once at startup. */
export const routerConfigSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    ROUTER_HOST: z.string().min(1).default('127.0.0.1'),
    ROUTER_PORT: port.default(8080),
    ADMIN_HOST: z.string().min(1).default('127.0.0.1'),
    ADMIN_PORT: port.default(8081),
    /** Bearer token for the admin API; required when ADMIN_HOST is not loopback. */
    ADMIN_TOKEN: z.string().min(16, 'use at least 16 characters').optional(),
    ROUTES_FILE: z.string().min(1).default('router/routes.yaml'),
    /** Local flags in Unleash client-features format (used unless UNLEASH_URL is set). */
    FLAGS_FILE: z.string().min(1).default('router/flags.json'),
    /** Unleash client API, e.g. http://unleash:4242/api; flags come from there when set. */
    UNLEASH_URL: z.url().optional(),
    UNLEASH_API_TOKEN: z.string().min(1).optional(),
    UNLEASH_REFRESH_MS: z.coerce.number().int().min(250).default(5000),
    /** Verifies bearer JWTs so canaries stick to the user id (`sub`). */
    JWT_SECRET: z.string().min(32).optional(),
    /** A header carrying the user id, set by a trusted gateway in front of the router. */
    USER_ID_HEADER: z
      .string()
      .regex(/^[A-Za-z0-9-]+$/)
      .optional(),
    /**
     * Peers whose USER_ID_HEADER is believed (comma-separated IPs, CIDR ranges, `loopback`,
     * `private`); the header is removed from everyone else's requests.
     */
    TRUSTED_PROXIES: addressList.default(['loopback']),
    SESSION_COOKIE: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/)
      .default('sid'),
    /** Add x-ficus-route and x-ficus-upstream to every response. */
    ROUTER_RESPONSE_HEADERS: flag.default(true),
    MAX_PATH_LENGTH: z.coerce.number().int().min(64).default(2048),
    /** Request bodies up to this size are buffered so a failing service's request can be replayed on the monolith. */
    REPLAY_BODY_LIMIT: byteSize.default(64 * 1024),
    /** The router's own PostgreSQL database for parity results (shared by every router); memory when unset. */
    PARITY_DATABASE_URL: postgresUrl.optional(),
    /** HMAC secret signing mirrored requests of routes with `shadow.writes: dry-run`; the services check it. */
    SHADOW_SECRET: z.string().min(32, 'use at least 32 characters').optional(),
    /** Response bytes kept whole for comparison; larger bodies are compared by status, headers, length and hash. */
    SHADOW_BODY_LIMIT: byteSize.default(1024 * 1024),
    /** Longest wait for a mirrored answer (headers and body). */
    SHADOW_TIMEOUT_MS: milliseconds(5000),
    /** Event-loop utilization (0..1) above which shadow samples are shed, so serving keeps its capacity; 1 never sheds. */
    SHADOW_SHED_ABOVE: z.coerce.number().min(0.1).max(1).default(0.9),
    /** Samples mirrored per second at most by this router, whatever the sample rate; 0: no limit. */
    SHADOW_MAX_PER_SECOND: z.coerce.number().int().min(0).default(200),
    /** Comparison worker threads. */
    SHADOW_THREADS: z.coerce.number().int().min(1).max(16).default(1),
    /** Record sampled exchanges (redacted) to this file, JSON lines, for `ficus replay`. */
    SHADOW_CAPTURE_FILE: z.string().min(1).optional(),
    SHADOW_CAPTURE_MAX_BYTES: byteSize.default(100 * 1024 * 1024),
    /** More JSON field names (comma-separated) redacted in parity examples and captures. */
    SHADOW_REDACT_FIELDS: list.default([]),
    /** More header names (comma-separated) redacted in parity examples and captures. */
    SHADOW_REDACT_HEADERS: list.default([]),
    SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
    /** Request line and headers must arrive within this; then 408. */
    CLIENT_HEADERS_TIMEOUT_MS: milliseconds(defaultClientDeadlines.headersMs),
    /** Longest pause within a request body; then 408 and the connection is closed. */
    CLIENT_BODY_TIMEOUT_MS: milliseconds(defaultClientDeadlines.bodyIdleMs),
    /** The whole request (headers and body) must arrive within this; then 408. */
    CLIENT_REQUEST_TIMEOUT_MS: milliseconds(defaultClientDeadlines.requestMs),
    /** Longest a response waits for a client that stopped reading; then the connection is closed. */
    CLIENT_SEND_TIMEOUT_MS: milliseconds(defaultClientDeadlines.sendMs),
  })
  .superRefine((config, ctx) => {
    if (config.CLIENT_HEADERS_TIMEOUT_MS > config.CLIENT_REQUEST_TIMEOUT_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['CLIENT_HEADERS_TIMEOUT_MS'],
        message: `must not exceed CLIENT_REQUEST_TIMEOUT_MS (${config.CLIENT_REQUEST_TIMEOUT_MS})`,
      });
    }
    if (config.UNLEASH_URL && !config.UNLEASH_API_TOKEN) {
      ctx.addIssue({
        code: 'custom',
        path: ['UNLEASH_API_TOKEN'],
        message: 'required with UNLEASH_URL (an Unleash client or backend token)',
      });
    }
  });

export type RouterConfig = z.output<typeof routerConfigSchema>;
