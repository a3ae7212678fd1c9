import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { monolithConfigSchema } from '../../monolith/src/config.js';
import { routerConfigSchema } from '../../router/src/config.js';
import { catalogConfigSchema } from '../../services/catalog/src/config.js';

/**
 * Docker cannot run where ficus is developed and tested, so the compose file is checked
 * against the code instead: every service built from this repository must run a file that
 * exists, with only variables its config schema reads, on the port its config listens on.
 */
const root = new URL('../../', import.meta.url);
const compose = parse(readFileSync(new URL('docker-compose.yml', root), 'utf8')) as {
  services: Record<
    string,
    {
      build?: string;
      image?: string;
      command?: string[];
      environment?: Record<string, string>;
      ports?: string[];
      depends_on?: Record<string, { condition: string }>;
    }
  >;
};

/** Which config schema each of our services' entries validates its environment with: a file, or a ficus command. */
const schemaByEntry: Record<string, { shape: Record<string, unknown> }> = {
  'monolith/src/server.ts': monolithConfigSchema,
  'tools/bin/ficus.mjs db': monolithConfigSchema,
  'tools/bin/ficus.mjs router': routerConfigSchema,
  'services/catalog/src/server.ts': catalogConfigSchema,
};

/**
 * The file a service's command runs, as a path in this repository (the image runs dist/<path>.js, which the
 * Dockerfile builds from <path>.ts), and its entry: that file, or for the ficus bin the file and its command.
 */
function entryOf(command: string[]): { file: string; entry: string } {
  const at = command.findIndex((arg) => /\.(ts|js|mjs)$/.test(arg));
  const file = command[at]!.replace(/^dist\/(.*)\.js$/, '$1.ts');
  return { file, entry: file === 'tools/bin/ficus.mjs' ? `${file} ${command[at + 1]}` : file };
}

/** Variables a route table reads through `${NAME}` are the router's too. */
const routeTableVariables = [
  ...readFileSync(new URL('router/routes.yaml', root), 'utf8').matchAll(/\$\{([A-Z_][A-Z0-9_]*)/g),
].map((m) => m[1]!);

const ours = Object.entries(compose.services).filter(([, service]) => service.build !== undefined);

describe('docker-compose.yml', () => {
  it('has PostgreSQL with logical replication, Unleash, the migration job, the monolith and the catalog service', () => {
    expect(Object.keys(compose.services).sort()).toEqual([
      'catalog',
      'migrate',
      'monolith',
      'postgres',
      'router',
      'unleash',
    ]);
    expect(compose.services['postgres']!.command).toContain('wal_level=logical');
  });

  it('builds our services from a Dockerfile that exists', () => {
    expect(ours.length).toBeGreaterThan(0);
    for (const [, service] of ours) expect(existsSync(new URL(`${service.build}/Dockerfile`, root))).toBe(true);
  });

  it.each(ours)('%s runs an entry file that exists', (_name, service) => {
    const { file, entry } = entryOf(service.command!);
    expect(existsSync(new URL(file, root)), file).toBe(true);
    expect(schemaByEntry[entry], `no config schema known for ${entry}`).toBeDefined();
  });

  it.each(ours)('%s runs JavaScript, as the image holds no tsx (a development dependency)', (_name, service) => {
    expect(service.command!.join(' ')).not.toMatch(/tsx|\.ts\b/);
  });

  it.each(ours)('%s sets only variables its config reads', (_name, service) => {
    const schema = schemaByEntry[entryOf(service.command!).entry]!;
    const known = [...Object.keys(schema.shape), ...(schema === routerConfigSchema ? routeTableVariables : [])];
    expect(Object.keys(service.environment ?? {}).filter((key) => !known.includes(key))).toEqual([]);
  });

  it.each(ours)('%s publishes the ports it listens on and reaches services that exist', (_name, service) => {
    const listening = ['PORT', 'ROUTER_PORT', 'ADMIN_PORT'].map((key) => service.environment?.[key]).filter(Boolean);
    for (const mapping of service.ports ?? []) expect(listening).toContain(mapping.split(':').at(-1));
    for (const dependency of Object.keys(service.depends_on ?? {}))
      expect(compose.services[dependency], dependency).toBeDefined();
    for (const value of Object.values(service.environment ?? {})) {
      const host = /^(?:postgres|http):\/\/(?:[^@/]+@)?([^:/]+)/.exec(value)?.[1];
      if (host) expect(compose.services[host], `host ${host}`).toBeDefined();
    }
  });

  it('gives the monolith and the catalog service one required token for the catalog API', () => {
    const caller = compose.services['monolith']!.environment!['CATALOG_API_TOKEN'];
    expect(caller).toMatch(/^\$\{CATALOG_API_TOKEN:\?/);
    expect(compose.services['catalog']!.environment!['INTERNAL_API_TOKEN']).toBe(caller);
  });

  it('publishes ports on loopback only', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const mapping of service.ports ?? []) expect(mapping, name).toMatch(/^127\.0\.0\.1:/);
    }
  });
});
