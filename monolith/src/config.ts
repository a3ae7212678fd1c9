import { z } from 'zod';
import {
  apiTokenSetting,
  platformConfigSchema,
  postgresUrl,
  refuseDevelopmentSecret,
  tokenConfigShape,
} from '../../platform/src/index.js';

const devRolePassword = 'ficus-dev-role-password';

const moduleUrlKeys = [
  'DATABASE_URL_CATALOG',
  'DATABASE_URL_USERS',
  'DATABASE_URL_PAYMENTS',
  'DATABASE_URL_ORDERS',
] as const;

/**
 * The monolith's environment. DATABASE_URL is the admin connection used to provision and
 * migrate; at run time each module connects as its own role (DATABASE_URL_<MODULE>, or the
 * admin URL with the role `${DB_ROLE_PREFIX}<schema>` and DB_ROLE_PASSWORD). In production,
 * give the monolith only the four module URLs, so it never holds admin credentials.
 */
export const monolithConfigSchema = platformConfigSchema
  .extend({
    DATABASE_URL: postgresUrl.optional(),
    DB_ROLE_PREFIX: z
      .string()
      .regex(/^[a-z_][a-z0-9_]*$/)
      .default('ficus_'),
    DB_ROLE_PASSWORD: z.string().min(8).default(devRolePassword),
    DATABASE_URL_CATALOG: postgresUrl.optional(),
    DATABASE_URL_USERS: postgresUrl.optional(),
    DATABASE_URL_PAYMENTS: postgresUrl.optional(),
    DATABASE_URL_ORDERS: postgresUrl.optional(),
    ...tokenConfigShape,
    /** How long payments waits for the provider before abandoning a charge. */
    PAYMENT_TIMEOUT_MS: z.coerce.number().int().positive().default(3000),
    /**
     * Which implementation of the catalog's in-process API other modules call: the module's own
     * tables (`local`) or the extracted catalog service over HTTP (`remote`, at CATALOG_SERVICE_URL).
     */
    CATALOG_API: z.enum(['local', 'remote']).default('local'),
    /**
     * Flags the monolith follows (the router's file; or UNLEASH_URL with UNLEASH_API_TOKEN): the
     * toggle `ficus.catalog-api`, when there, overrides CATALOG_API (on: remote), so a cutover
     * switches the implementation without a restart.
     */
    FLAGS_FILE: z.string().min(1).optional(),
    UNLEASH_URL: z.url().optional(),
    UNLEASH_API_TOKEN: z.string().min(1).optional(),
    /** The catalog service, e.g. http://127.0.0.1:3101 (the router's variable of the same name). */
    CATALOG_SERVICE_URL: z.url({ protocol: /^https?$/ }).optional(),
    /** How long a call to the catalog service may take, per attempt. */
    CATALOG_API_TIMEOUT_MS: z.coerce.number().int().positive().default(2000),
    /** The catalog service's INTERNAL_API_TOKEN, sent with every call of its API. */
    CATALOG_API_TOKEN: apiTokenSetting.optional(),
    /**
     * How often the orders module retries the compensations a failed order could not finish (a
     * release of stock or a refund whose module did not answer); 0 turns the job off.
     */
    COMPENSATION_RETRY_MS: z.coerce.number().int().min(0).default(5000),
  })
  .superRefine((config, ctx) => {
    const missing = moduleUrlKeys.filter((key) => !config[key]);
    if (!config.DATABASE_URL && missing.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['DATABASE_URL'],
        message: `set DATABASE_URL, or all of ${missing.join(', ')}`,
      });
    }
    if (config.CATALOG_API === 'remote' && !config.CATALOG_SERVICE_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['CATALOG_SERVICE_URL'],
        message: 'CATALOG_API=remote calls the catalog service: set CATALOG_SERVICE_URL to its URL',
      });
    }
    refuseDevelopmentSecret(config, ctx);
    if (config.NODE_ENV !== 'production') return;
    // A production catalog service refuses every call without its token; a flag (a cutover) may
    // send calls there at any moment, so the missing token is reported now, not on the first order.
    if (config.CATALOG_SERVICE_URL && !config.CATALOG_API_TOKEN) {
      ctx.addIssue({
        code: 'custom',
        path: ['CATALOG_API_TOKEN'],
        message: "required in production with CATALOG_SERVICE_URL: set it to the catalog service's INTERNAL_API_TOKEN",
      });
    }
    if (config.DB_ROLE_PASSWORD === devRolePassword && missing.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['DB_ROLE_PASSWORD'],
        message: 'set a password of your own in production (or DATABASE_URL_<MODULE> per module)',
      });
    }
  });

export type MonolithConfig = z.output<typeof monolithConfigSchema>;
