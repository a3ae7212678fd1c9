import { z } from 'zod';
import { FicusError } from './errors.js';

const sizeUnits: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** Parses `1048576`, `512kb`, `1mb` into bytes. */
export function parseByteSize(value: string): number | undefined {
  const match = /^\s*(\d+)\s*(b|kb|mb|gb)?\s*$/i.exec(value);
  if (!match) return undefined;
  return Number(match[1]) * (sizeUnits[(match[2] ?? 'b').toLowerCase()] ?? 1);
}

export const byteSize = z.string().transform((value, ctx) => {
  const bytes = parseByteSize(value);
  if (bytes === undefined || bytes <= 0) {
    ctx.addIssue({ code: 'custom', message: `expected a size such as 1048576, 512kb or 1mb, got "${value}"` });
    return z.NEVER;
  }
  return bytes;
});

export const port = z.coerce.number().int().min(0).max(65535);

export const postgresUrl = z
  .string()
  .refine((value) => /^postgres(ql)?:\/\//.test(value), 'expected postgres://user:password@host:port/database');

/**
 * Settings every ficus process shares (monolith, services). Extend it per process:
 * `platformConfigSchema.extend({ ... })`.
 * @example loadConfig(platformConfigSchema, process.env)
 */
export const platformConfigSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: port.default(3000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Largest JSON request body accepted; larger bodies get 413. */
  BODY_LIMIT: byteSize.default(1024 * 1024),
  /** How long in-flight requests may take to finish after SIGTERM before connections are cut. */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  DB_POOL_MAX: z.coerce.number().int().positive().default(10),
  /**
   * HMAC key the router signs mirrored writes with (x-ficus-shadow); the same value in the router and
   * every process it mirrors to. Unset: shadow requests are refused with 403 (docs/shadow-writes.md).
   */
  SHADOW_SECRET: z.string().min(32, 'use at least 32 characters').optional(),
});

export type PlatformConfig = z.output<typeof platformConfigSchema>;

/**
 * Validates environment variables once, at startup, and returns a frozen config.
 * Throws FICUS_ERR_CONFIG naming every offending variable.
 */
export function loadConfig<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined>,
): Readonly<z.output<S>> {
  // Empty strings mean "unset", as in most shells' `VAR= cmd`.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  ${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new FicusError(
      'FICUS_ERR_CONFIG',
      `invalid configuration; fix these environment variables:\n${lines.join('\n')}`,
    );
  }
  return Object.freeze(result.data);
}
