import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { monolithConfigSchema } from '../../monolith/src/config.js';
import { routerConfigSchema } from '../../router/src/config.js';

/**
 * Docker cannot run where ficus is developed and tested, so the compose file is checked
 * against the code instead: every service built from this repository must run a file that
 * exists, with only variables its config schema reads, on the port its config listens on.
 */
const root = new URL('../../', import.meta.url);
const compose = parse(readFileSync(new URL('docker-compose.yml', root), 'utf8')) as {
  services: Record<string, {
    build?: string;
    image?: string;
    command?: string[];
    environment?: Record<string, string>;
    ports?: string[];
    depends_on?: Record<string, { condition: string }>;
  }>;
};

/** Which config schema each of our services' entry files validates its environment with. */
const schemaByEntry: Record<string, { shape: Record<string, unknown> }> = {
  'monolith/src/server.ts': monolithConfigSchema,
  'tools/bin/ficus.mjs': monolithConfigSchema,
  'router/src/entry.ts': routerConfigSchema,
};

/** Variables a route table reads through `${NAME}` are the router's too. */
const routeTableVariables = [...readFileSync(new URL('router/routes.yaml', root), 'utf8').matchAll(/\$\{([A-Z_][A-Z0-9_]*)/g)].map((m) => m[1]!);

const ours = Object.entries(compose.services).filter(([, service]) => service.build !== undefined);

describe('docker-compose.yml', () => {
  it('has PostgreSQL with logical replication, Unleash, the migration job and the monolith', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['migrate', 'monolith', 'postgres', 'router', 'unleash']);
    expect(compose.services['postgres']!.command).toContain('wal_level=logical');
  });

  it('builds our services from a Dockerfile that exists', () => {
    expect(ours.length).toBeGreaterThan(0);
    for (const [, service] of ours) expect(existsSync(new URL(`${service.build}/Dockerfile`, root))).toBe(true);
  });

  it.each(ours)('%s runs an entry file that exists', (_name, service) => {
    const entry = service.command!.find((arg) => /\.(ts|mjs)$/.test(arg))!;
    expect(existsSync(new URL(entry, root)), entry).toBe(true);
    expect(schemaByEntry[entry], `no config schema known for ${entry}`).toBeDefined();
  });

  it.each(ours)('%s sets only variables its config reads', (_name, service) => {
    const entry = service.command!.find((arg) => /\.(ts|mjs)$/.test(arg))!;
    const known = [...Object.keys(schemaByEntry[entry]!.shape), ...(entry.startsWith('router/') ? routeTableVariables : [])];
    expect(Object.keys(service.environment ?? {}).filter((key) => !known.includes(key))).toEqual([]);
  });

  it.each(ours)('%s publishes the ports it listens on and reaches services that exist', (_name, service) => {
    const listening = ['PORT', 'ROUTER_PORT', 'ADMIN_PORT'].map((key) => service.environment?.[key]).filter(Boolean);
    for (const mapping of service.ports ?? []) expect(listening).toContain(mapping.split(':').at(-1));
    for (const dependency of Object.keys(service.depends_on ?? {})) expect(compose.services[dependency], dependency).toBeDefined();
    for (const value of Object.values(service.environment ?? {})) {
      const host = /^(?:postgres|http):\/\/(?:[^@/]+@)?([^:/]+)/.exec(value)?.[1];
      if (host) expect(compose.services[host], `host ${host}`).toBeDefined();
    }
  });

  it('publishes ports on loopback only', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const mapping of service.ports ?? []) expect(mapping, name).toMatch(/^127\.0\.0\.1:/);
    }
  });
});
