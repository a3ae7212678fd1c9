import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { wireBuildConfig, wireCompose, wireDockerfile, wireRouteTable } from '../../../../tools/src/extract/wiring.js';

const service = {
  name: 'shop',
  module: 'shop',
  schema: 'shop',
  port: 3105,
  from: 'src/domains/shop',
  mountPath: '/api',
};
const routes = [
  { id: 'shop-read', path: '/api/items/**', methods: ['GET'], kind: 'read' as const },
  { id: 'shop-write', path: '/api/items', methods: ['POST'], kind: 'write' as const },
];
const table =
  'version: 1\nupstreams:\n  monolith:\n    url: ${MONOLITH_URL:-http://127.0.0.1:3000}\ndefaultUpstream: monolith\nroutes: []\n';

describe('wireRouteTable', () => {
  it('adds the upstream and the routes at fallback monolith, and keeps entries already there', () => {
    const first = wireRouteTable(table, 'routes.yaml', service, routes, {});
    const parsed = parse(first.text);
    expect(parsed.upstreams.shop.url).toBe('${SHOP_SERVICE_URL:-http://127.0.0.1:3105}');
    expect(parsed.routes).toEqual([
      {
        id: 'shop-read',
        match: { path: '/api/items/**', methods: ['GET'] },
        service: 'shop',
        fallback: 'monolith',
        stickiness: 'userId',
      },
      { id: 'shop-write', match: { path: '/api/items', methods: ['POST'] }, service: 'shop', fallback: 'monolith' },
    ]);
    expect(first.text).toContain('methods: [GET]');
    const again = wireRouteTable(first.text, 'routes.yaml', service, routes, {});
    expect(again.changes).toEqual([]);
    expect(again.text).toBe(first.text);
  });

  it('refuses a table the router would refuse, naming it', () => {
    const clash = `${table.replace('routes: []', 'routes:\n  - { id: x, match: { path: /api/items/** }, service: nowhere }')}`;
    expect(() => wireRouteTable(clash, 'routes.yaml', service, routes, {})).toThrow(/routes\.yaml/);
  });
});

describe('wireCompose', () => {
  it('adds the service with its own database before the router, and its URL to the router', () => {
    const compose =
      'services:\n  monolith:\n    build: .\n  router:\n    build: .\n    environment:\n      MONOLITH_URL: http://monolith:3000\n    depends_on:\n      monolith:\n        condition: service_healthy\n';
    const { text, changes } = wireCompose(compose, 'docker-compose.yml', service, 'dist/services/shop/src/server.js');
    const parsed = parse(text);
    expect(Object.keys(parsed.services)).toEqual(['monolith', 'shop', 'router']);
    expect(parsed.services.shop.environment.DATABASE_URL).toMatch(/@postgres:5432\/ficus_shop$/);
    expect(parsed.services.shop.command).toEqual(['node', 'dist/services/shop/src/server.js']);
    expect(parsed.services.router.environment.SHOP_SERVICE_URL).toBe('http://shop:3105');
    expect(parsed.services.router.depends_on.shop).toEqual({ condition: 'service_started' });
    expect(changes).toHaveLength(3);
    expect(parsed.services.shop.environment).not.toHaveProperty('INTERNAL_API_TOKEN');
    expect(wireCompose(text, 'docker-compose.yml', service, 'x').changes).toEqual([]);
  });

  it("gives a service that serves its module's API the required token its callers share", () => {
    const compose = 'services:\n  monolith:\n    build: .\n';
    const { text } = wireCompose(compose, 'docker-compose.yml', service, 'dist/services/shop/src/server.js', {
      api: true,
    });
    expect(parse(text).services.shop.environment.INTERNAL_API_TOKEN).toBe(
      '${SHOP_API_TOKEN:?set SHOP_API_TOKEN (32+ characters, the same for the service and its callers)}',
    );
  });
});

describe('wireDockerfile and wireBuildConfig', () => {
  it('copy and build services/ once', () => {
    const docker = wireDockerfile(
      'FROM node\nCOPY monolith ./monolith\nRUN npm run build\nFROM node\nCOPY --from=build /app/dist ./dist\n',
    );
    expect(docker.text).toBe(
      'FROM node\nCOPY monolith ./monolith\nCOPY services ./services\nRUN npm run build\n' +
        'FROM node\nCOPY --from=build /app/dist ./dist\nCOPY --from=build /app/services ./services\n',
    );
    expect(wireDockerfile(docker.text).changes).toEqual([]);
    const build = wireBuildConfig('{ "include": ["platform/src", "monolith/src"] }');
    expect(build.text).toBe('{ "include": ["platform/src", "monolith/src", "services"] }');
    expect(wireBuildConfig(build.text).changes).toEqual([]);
  });
});
