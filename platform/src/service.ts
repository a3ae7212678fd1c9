import { z } from 'zod';
import { platformConfigSchema, port, postgresUrl } from './config.js';
import { apiTokenSetting, previousTokenVariable, serviceTokenVariable } from './remote/api-token.js';

/** JWT_SECRET when none is set, so development needs no setup; refused in production. */
export const developmentJwtSecret = 'ficus-development-secret-change-me-in-production';

/** HS256 token settings shared by the monolith, extracted services and the router. */
export const tokenConfigShape = {
  /** HS256 key for user tokens; the same value in the monolith, every service and the router. */
  JWT_SECRET: z.string().min(32, 'use at least 32 characters').default(developmentJwtSecret),
  JWT_TTL_SECONDS: z.coerce.number().int().positive().default(3600),
};

/** Adds an issue when a production process would run on the development JWT secret. */
export function refuseDevelopmentSecret(config: { NODE_ENV: string; JWT_SECRET: string }, ctx: z.RefinementCtx): void {
  if (config.NODE_ENV === 'production' && config.JWT_SECRET === developmentJwtSecret)
    ctx.addIssue({ code: 'custom', path: ['JWT_SECRET'], message: 'set a secret of your own in production' });
}

const booleanFlag = z.enum(['true', 'false']).transform((value) => value === 'true');

/**
 * The environment of an extracted service: the platform settings, its own database, the
 * shared token secret, the token of its internal API. `ficus extract` writes a `config.ts` that
 * calls this with the service's port and schema, and `internalApi: true` when the service serves
 * its module's API (apiRouter).
 * @example serviceConfigSchema({ port: 3101, schema: 'catalog', internalApi: true })
 */
export function serviceConfigSchema(defaults: { port: number; schema: string; internalApi?: boolean }) {
  return platformConfigSchema
    .extend({
      PORT: port.default(defaults.port),
      /** The service's own database (in development `ficus_<module>` on the monolith's server). */
      DATABASE_URL: postgresUrl,
      /** The schema its tables live in: the module's, so logical replication maps tables one to one. */
      DB_SCHEMA: z
        .string()
        .regex(/^[a-z_][a-z0-9_]*$/, 'use lower-case letters, digits and _')
        .default(defaults.schema),
      /** Run pending migrations before listening (`false` where a deploy job migrates). */
      MIGRATE_ON_START: booleanFlag.default(true),
      ...tokenConfigShape,
      /**
       * The bearer token every call of the service's API (/internal/api/) must carry; its callers
       * hold the same one (the monolith: <NAME>_API_TOKEN). Unset: the API answers anyone, with a
       * warning at startup; refused in production.
       */
      INTERNAL_API_TOKEN: apiTokenSetting.optional(),
      /**
       * The token the API still accepts while its callers move to a new INTERNAL_API_TOKEN: a
       * rotation without a moment when either side's calls are refused.
       */
      INTERNAL_API_TOKEN_PREVIOUS: apiTokenSetting.optional(),
    })
    .superRefine((config, ctx) => {
      refuseDevelopmentSecret(config, ctx);
      if (config.INTERNAL_API_TOKEN_PREVIOUS && !config.INTERNAL_API_TOKEN)
        ctx.addIssue({
          code: 'custom',
          path: [previousTokenVariable],
          message: `is accepted beside ${serviceTokenVariable} during a rotation: set ${serviceTokenVariable} (the new token) too`,
        });
      if (config.INTERNAL_API_TOKEN_PREVIOUS && config.INTERNAL_API_TOKEN_PREVIOUS === config.INTERNAL_API_TOKEN)
        ctx.addIssue({
          code: 'custom',
          path: [previousTokenVariable],
          message: `is the same as ${serviceTokenVariable}: give ${serviceTokenVariable} the new token, or unset this`,
        });
      // Production fails closed: an API that can move stock must not be open to whoever reaches
      // the port because a variable was forgotten. Development stays one command (a warning).
      if (defaults.internalApi && config.NODE_ENV === 'production' && !config.INTERNAL_API_TOKEN) {
        ctx.addIssue({
          code: 'custom',
          path: [serviceTokenVariable],
          message:
            "required in production: every call of this service's API (/internal/api/) must carry it; " +
            'set 32+ characters (e.g. openssl rand -base64 32) and give its callers the same token',
        });
      }
    });
}
