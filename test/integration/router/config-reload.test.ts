import { writeFile } from 'node:fs/promises';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../platform/src/index.js';
import { checkAdminExposure, createAdminApp } from '../../../router/src/admin.js';
import { eventually, routeTableYaml, startTestRouter, type TestRouter } from '../../kit/router.js';
import { spawnNode } from '../../kit/processes.js';
import { startEchoUpstream, type EchoUpstream } from '../../kit/upstreams.js';

let monolith: EchoUpstream;
let service: EchoUpstream;
let t: TestRouter;
let table: string;
let admin: ReturnType<typeof createAdminApp>;

beforeAll(async () => {
  monolith = await startEchoUpstream('monolith');
  service = await startEchoUpstream('catalog');
  table = routeTableYaml(
    { monolith: monolith.url, catalog: service.url },
    { 'catalog-read': { path: '/api/v1/products/**', service: 'catalog' } },
  );
  t = await startTestRouter(table);
  admin = createAdminApp(t.router, {
    logger: createLogger({ level: 'silent', name: 'admin' }),
    token: 'admin-token-0123456789',
  });
});
afterAll(async () => {
  await t.close();
  await monolith.stop();
  await service.stop();
});

const status = async () =>
  (await request(admin.app).get('/status').set('authorization', 'Bearer admin-token-0123456789').expect(200)).body;

describe('configuration errors and hot reload', () => {
  it('a bad routes.yaml stops the router at startup with file, line, route id and field', async () => {
    await writeFile(
      `${t.dir}/bad-routes.yaml`,
      `upstreams:\n  monolith: { url: "http://127.0.0.1:1" }\ndefaultUpstream: monolith\nroutes:\n  - id: x\n    match: { path: "/a//b" }\n    service: nowhere\n`,
    );
    const proc = spawnNode(['--import', 'tsx', 'router/src/entry.ts'], {
      ROUTES_FILE: `${t.dir}/bad-routes.yaml`,
      FLAGS_FILE: t.flagsFile,
      ROUTER_PORT: '0',
      ADMIN_PORT: '0',
    });
    expect(await proc.exited).toBe(1);
    expect(proc.output()).toContain('FICUS_ERR_ROUTE_INVALID');
    expect(proc.output()).toContain(
      `${t.dir}/bad-routes.yaml:6: routes[0] (id "x"): match.path: "/a//b" has an empty segment`,
    );
    expect(proc.output()).toContain(
      `${t.dir}/bad-routes.yaml:7: routes[0] (id "x"): service: unknown upstream "nowhere"`,
    );
  });

  it('a bad flags.json stops the router at startup naming the file and field', async () => {
    await writeFile(`${t.dir}/bad-flags.json`, JSON.stringify({ features: [{ name: 'f', enabled: 'yes' }] }));
    const proc = spawnNode(['--import', 'tsx', 'router/src/entry.ts'], {
      ROUTES_FILE: t.routesFile,
      FLAGS_FILE: `${t.dir}/bad-flags.json`,
      ROUTER_PORT: '0',
      ADMIN_PORT: '0',
    });
    expect(await proc.exited).toBe(1);
    expect(proc.output()).toContain('FICUS_ERR_FLAG_SOURCE');
    expect(proc.output()).toContain(`${t.dir}/bad-flags.json: features.0.enabled:`);
  });

  it('refuses to expose the admin API beyond loopback without a token, deciding on the resolved addresses', async () => {
    await expect(checkAdminExposure('0.0.0.0', undefined)).rejects.toThrowError(
      'ADMIN_TOKEN: required when ADMIN_HOST (0.0.0.0) is not a loopback address',
    );
    // Spelled like loopback, but a name: it does not resolve here, and is never taken for 127.x by its prefix.
    await expect(checkAdminExposure('127.attacker.example', undefined)).rejects.toMatchObject({
      code: 'FICUS_ERR_CONFIG',
      message: expect.stringContaining('127.attacker.example does not resolve'),
    });
    for (const host of ['127.0.0.1', '127.8.9.10', '::1', 'localhost'])
      await expect(checkAdminExposure(host, undefined)).resolves.toBeUndefined();
    await expect(checkAdminExposure('0.0.0.0', 'a-token-of-16-chars-or-more')).resolves.toBeUndefined();
    const proc = spawnNode(['--import', 'tsx', 'router/src/entry.ts'], {
      ROUTES_FILE: t.routesFile,
      FLAGS_FILE: t.flagsFile,
      ADMIN_HOST: '127.attacker.example',
      ROUTER_PORT: '0',
      ADMIN_PORT: '0',
    });
    expect(await proc.exited).toBe(1);
    expect(proc.output()).toContain('ADMIN_HOST: 127.attacker.example does not resolve');
  });

  it('a bad route table on hot reload keeps the last good one and reports it on /status and in metrics', async () => {
    await t.setStage('catalog-read', 'service');
    await eventually(() => t.router.flags.stage('ficus.catalog-read').stage === 'service', 2000, 'flags applied');
    await writeFile(t.routesFile, `${table}  - id: catalog-read\n    match: { path: /x }\n    service: catalog\n`);
    await eventually(async () => (await status()).routeTable.lastError !== undefined, 2000, 'reload refused');
    expect((await status()).routeTable.lastError.message).toContain('duplicate id');
    const res = await fetch(`${t.url}/api/v1/products/1`);
    expect(res.headers.get('x-ficus-upstream')).toBe('catalog');
    expect(await t.router.metrics.registry.metrics()).toMatch(
      /ficus_router_config_reload_errors_total\{file=".*routes\.yaml"\} 1/,
    );

    await writeFile(t.routesFile, table.replace('/api/v1/products/**', '/api/v2/products/**'));
    await eventually(async () => (await status()).routeTable.lastError === undefined, 2000, 'good reload');
    const moved = await fetch(`${t.url}/api/v1/products/1`);
    expect(moved.headers.get('x-ficus-upstream')).toBe('monolith');
    await writeFile(t.routesFile, table);
    await eventually(() => t.router.state.table.routes[0]!.pattern.source === '/api/v1/products/**', 2000, 'restored');
  });

  it('a bad flags file on hot reload keeps the last good flags and reports it', async () => {
    await t.setStage('catalog-read', 'service');
    await eventually(() => t.router.flags.stage('ficus.catalog-read').stage === 'service', 2000, 'flags applied');
    await writeFile(t.flagsFile, '{"features": [ broken');
    await eventually(async () => (await status()).flags.lastError !== undefined, 2000, 'flag reload refused');
    expect((await status()).flags.lastError.message).toContain(t.flagsFile);
    const res = await fetch(`${t.url}/api/v1/products/1`);
    expect(res.headers.get('x-ficus-upstream')).toBe('catalog');
    await writeFile(t.flagsFile, JSON.stringify({ version: 2, features: [] }));
    await eventually(async () => (await status()).flags.lastError === undefined, 2000, 'good flags again');
    expect(t.router.flags.stage('ficus.catalog-read').stage).toBe('monolith');
  });
});

describe('admin API', () => {
  it('lists routes with stage, percent, breaker state and counters', async () => {
    await t.setStage('catalog-read', 'canary', 30);
    await eventually(() => t.router.flags.stage('ficus.catalog-read').stage === 'canary', 2000, 'flags applied');
    const res = await request(admin.app)
      .get('/routes')
      .set('authorization', 'Bearer admin-token-0123456789')
      .expect(200);
    expect(res.body).toMatchObject({
      defaultUpstream: 'monolith',
      routes: [
        {
          id: 'catalog-read',
          path: '/api/v1/products/**',
          service: 'catalog',
          flag: 'ficus.catalog-read',
          stage: 'canary',
          percent: 30,
          breaker: 'closed',
          counters: { fallbacks: 0 },
        },
      ],
    });
    expect(res.body.routes[0].counters.servedBy.catalog).toBeGreaterThan(0);
  });

  it('requires the token for everything but health probes', async () => {
    await request(admin.app).get('/routes').expect(401);
    await request(admin.app).get('/metrics').set('authorization', 'Bearer wrong').expect(401);
    await request(admin.app).get('/healthz').expect(200);
    await request(admin.app).get('/readyz').expect(200);
    const metrics = await request(admin.app)
      .get('/metrics')
      .set('authorization', 'Bearer admin-token-0123456789')
      .expect(200);
    expect(metrics.text).toContain('ficus_router_requests_total{route="catalog-read",upstream="catalog",status="200"}');
    expect(metrics.text).toContain('ficus_router_breaker_state{upstream="catalog"} 0');
    expect(metrics.text).toMatch(/ficus_router_flag_source_age_seconds \d/);
    expect(metrics.text).toContain('ficus_router_request_duration_seconds_bucket');
  });
});
