import { describe, expect, it } from 'vitest';
import {
  apiTokenVariable,
  loadConfig,
  parseByteSize,
  platformConfigSchema,
  serviceConfigSchema,
} from '../../../platform/src/index.js';
import { monolithConfigSchema } from '../../../monolith/src/config.js';
import { catalogConfigSchema } from '../../../services/catalog/src/config.js';

describe('configuration', () => {
  it('fills defaults: loopback, port 3000, 1 MiB body limit', () => {
    const config = loadConfig(platformConfigSchema, {});
    expect(config).toMatchObject({ HOST: '127.0.0.1', PORT: 3000, BODY_LIMIT: 1024 * 1024, LOG_LEVEL: 'info' });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('parses sizes with units', () => {
    expect(parseByteSize('512kb')).toBe(512 * 1024);
    expect(parseByteSize('2MB')).toBe(2 * 1024 * 1024);
    expect(parseByteSize('100')).toBe(100);
    expect(parseByteSize('lots')).toBeUndefined();
  });

  it('names every bad variable and what it expects', () => {
    expect(() =>
      loadConfig(monolithConfigSchema, { PORT: 'eighty', BODY_LIMIT: 'huge', DATABASE_URL: 'mysql://x' }),
    ).toThrowError(
      /PORT: .*\n.*BODY_LIMIT: expected a size such as 1048576, 512kb or 1mb, got "huge"\n.*DATABASE_URL: expected postgres:\/\//,
    );
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig(platformConfigSchema, { PORT: '' }).PORT).toBe(3000);
  });

  it('runs the monolith on module URLs alone, without admin credentials', () => {
    const modules = Object.fromEntries(
      ['CATALOG', 'USERS', 'PAYMENTS', 'ORDERS'].map((m) => [
        `DATABASE_URL_${m}`,
        `postgres://ficus_${m.toLowerCase()}:pw@db/ficus`,
      ]),
    );
    const config = loadConfig(monolithConfigSchema, { ...modules, NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) });
    expect(config.DATABASE_URL).toBeUndefined();
    expect(() =>
      loadConfig(monolithConfigSchema, { DATABASE_URL_CATALOG: modules['DATABASE_URL_CATALOG'] }),
    ).toThrowError(
      'DATABASE_URL: set DATABASE_URL, or all of DATABASE_URL_USERS, DATABASE_URL_PAYMENTS, DATABASE_URL_ORDERS',
    );
  });

  it('refuses development secrets in production', () => {
    expect(() =>
      loadConfig(monolithConfigSchema, { NODE_ENV: 'production', DATABASE_URL: 'postgres://a@b/c' }),
    ).toThrowError(
      /JWT_SECRET: set a secret of your own in production[\s\S]*DB_ROLE_PASSWORD: set a password of your own/,
    );
  });

  it('reads SHADOW_SECRET in the monolith and in services: optional, 32 characters or more', () => {
    const service = serviceConfigSchema({ port: 3101, schema: 'catalog' });
    const database = { DATABASE_URL: 'postgres://a@b/c' };
    expect(loadConfig(monolithConfigSchema, database).SHADOW_SECRET).toBeUndefined();
    expect(loadConfig(service, { ...database, SHADOW_SECRET: 's'.repeat(32) }).SHADOW_SECRET).toBe('s'.repeat(32));
    for (const schema of [monolithConfigSchema, service]) {
      expect(() => loadConfig(schema, { ...database, SHADOW_SECRET: 'too short' })).toThrowError(
        /SHADOW_SECRET: use at least 32 characters/,
      );
    }
  });

  describe('the internal API token', () => {
    const production = { NODE_ENV: 'production', DATABASE_URL: 'postgres://a@b/c', JWT_SECRET: 'j'.repeat(32) };
    const token = 't'.repeat(43);

    it('is required by a service serving its API in production, naming INTERNAL_API_TOKEN', () => {
      expect(() => loadConfig(catalogConfigSchema, production)).toThrowError(
        /INTERNAL_API_TOKEN: required in production: every call of this service's API \(\/internal\/api\/\) must carry it/,
      );
      expect(loadConfig(catalogConfigSchema, { ...production, INTERNAL_API_TOKEN: token }).INTERNAL_API_TOKEN).toBe(
        token,
      );
    });

    it('is optional in development, and for a service without an API in production', () => {
      expect(loadConfig(catalogConfigSchema, { DATABASE_URL: 'postgres://a@b/c' }).INTERNAL_API_TOKEN).toBeUndefined();
      const withoutApi = serviceConfigSchema({ port: 3102, schema: 'users' });
      expect(loadConfig(withoutApi, production).INTERNAL_API_TOKEN).toBeUndefined();
    });

    it('is 32+ characters a bearer header can carry, on both sides', () => {
      const database = { DATABASE_URL: 'postgres://a@b/c' };
      expect(() => loadConfig(catalogConfigSchema, { ...database, INTERNAL_API_TOKEN: 'short' })).toThrowError(
        /INTERNAL_API_TOKEN: use at least 32 characters/,
      );
      expect(() => loadConfig(monolithConfigSchema, { ...database, CATALOG_API_TOKEN: `${token} x` })).toThrowError(
        /CATALOG_API_TOKEN: use letters, digits and - \. _ ~ \+ \/ only/,
      );
    });

    it('takes a previous token during a rotation, only beside a new one and not the same', () => {
      const database = { DATABASE_URL: 'postgres://a@b/c' };
      const previous = 'p'.repeat(43);
      expect(
        loadConfig(catalogConfigSchema, {
          ...database,
          INTERNAL_API_TOKEN: token,
          INTERNAL_API_TOKEN_PREVIOUS: previous,
        }).INTERNAL_API_TOKEN_PREVIOUS,
      ).toBe(previous);
      expect(() =>
        loadConfig(catalogConfigSchema, { ...database, INTERNAL_API_TOKEN_PREVIOUS: previous }),
      ).toThrowError(
        /INTERNAL_API_TOKEN_PREVIOUS: is accepted beside INTERNAL_API_TOKEN during a rotation: set INTERNAL_API_TOKEN \(the new token\) too/,
      );
      expect(() =>
        loadConfig(catalogConfigSchema, { ...database, INTERNAL_API_TOKEN: token, INTERNAL_API_TOKEN_PREVIOUS: token }),
      ).toThrowError(/INTERNAL_API_TOKEN_PREVIOUS: is the same as INTERNAL_API_TOKEN/);
    });

    it('is required by a production monolith that knows the catalog service, under the name callers are told', () => {
      const monolith = { ...production, DB_ROLE_PASSWORD: 'p'.repeat(12), CATALOG_SERVICE_URL: 'http://catalog:3101' };
      expect(() => loadConfig(monolithConfigSchema, monolith)).toThrowError(
        /CATALOG_API_TOKEN: required in production with CATALOG_SERVICE_URL/,
      );
      expect(loadConfig(monolithConfigSchema, { ...monolith, CATALOG_API_TOKEN: token }).CATALOG_API_TOKEN).toBe(token);
      expect(monolithConfigSchema.shape).toHaveProperty(apiTokenVariable('catalog'));
    });
  });
});
