import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createLogger, dropDatabase, ensureDatabase, withDatabase } from '../../../platform/src/index.js';
import { FlagSource } from '../../../router/src/flags/flag-source.js';
import { loadRouteTable } from '../../../router/src/route-table/load.js';
import { createRouter, type FicusRouter } from '../../../router/src/server.js';
import { freePort } from '../../kit/ports.js';
import { spawnNode, waitFor, type Spawned } from '../../kit/processes.js';
import { eventually, routeTableYaml, startTestRouter, type TestRouter } from '../../kit/router.js';
import { load, startEchoUpstream, type EchoUpstream } from '../../kit/upstreams.js';

const adminToken = '*:*.ficus-test-admin-secret';
const clientToken = 'default:development.ficus-test-client-secret';
const refreshMs = 500;

let database: string;
let unleash: Spawned;
let unleashUrl: string;
let monolith: EchoUpstream;
let service: EchoUpstream;
let files: TestRouter;
let router: FicusRouter;
let routerUrl: string;

beforeAll(async () => {
  database = `ficus_unleash_${randomBytes(4).toString('hex')}`;
  await ensureDatabase(inject('adminUrl'), database);
  const port = await freePort();
  unleash = spawnNode(['test/kit/unleash-server.mjs'], {
    DATABASE_URL: withDatabase(inject('adminUrl'), database),
    PORT: String(port),
    ADMIN_TOKEN: adminToken,
    CLIENT_TOKEN: clientToken,
    SEND_TELEMETRY: 'false',
  });
  await waitFor(async () => (unleash.output().includes('unleash ready') ? true : undefined), 60_000, unleash.output);
  unleashUrl = `http://127.0.0.1:${port}/api`;

  monolith = await startEchoUpstream('monolith');
  service = await startEchoUpstream('catalog');
  // The route table and flags-file location come from the kit; flags come from Unleash here.
  files = await startTestRouter(
    routeTableYaml({ monolith: monolith.url, catalog: service.url }, { 'catalog-read': { path: '/api/v1/products/**', service: 'catalog' } }),
  );
  const logger = createLogger({ level: 'silent', name: 'router' });
  const flags = FlagSource.fromServer({ url: unleashUrl, apiToken: clientToken, refreshMs, logger });
  await flags.start();
  router = createRouter({ table: loadRouteTable(files.routesFile), flags, logger, userIdHeader: 'x-user-id' });
  router.server.listen(0, '127.0.0.1');
  await once(router.server, 'listening');
  routerUrl = `http://127.0.0.1:${(router.server.address() as AddressInfo).port}`;
}, 120_000);

afterAll(async () => {
  router?.close();
  router?.server.closeAllConnections();
  router?.server.close();
  await files?.close();
  await monolith?.stop();
  await service?.stop();
  if (unleash && unleash.child.exitCode === null) {
    unleash.child.kill('SIGTERM');
    await unleash.exited;
  }
  await dropDatabase(inject('adminUrl'), database);
});

/** `ficus flags` against the Unleash server, as a user runs it. */
async function flags(...args: string[]): Promise<string> {
  const proc = spawnNode(['tools/bin/ficus.mjs', 'flags', ...args, '--routes', files.routesFile, '--audit', `${files.dir}/audit.jsonl`], {
    UNLEASH_URL: unleashUrl,
    UNLEASH_ADMIN_TOKEN: adminToken,
  });
  expect(await proc.exited, proc.output()).toBe(0);
  return proc.output();
}

async function servedBy(): Promise<string | null> {
  const res = await fetch(`${routerUrl}/api/v1/products/1`, { headers: { 'x-user-id': 'u-1' } });
  await res.arrayBuffer();
  return res.headers.get('x-ficus-upstream');
}

describe('flags from a real Unleash server', () => {
  it('creates the missing toggle through the Admin API and the router follows within its refresh interval', async () => {
    expect(await servedBy()).toBe('monolith');
    const output = await flags('set', 'catalog-read', '--stage', 'service');
    expect(output).toContain('catalog-read: monolith → service (Unleash');
    const took = await eventually(async () => (await servedBy()) === 'catalog', refreshMs + 2000, 'router followed');
    expect(took).toBeLessThan(refreshMs + 2000);
    expect(await flags('status')).toMatch(/catalog-read +\/api\/v1\/products\/\*\* +catalog +service/);
  });

  it('a canary set in Unleash splits users; rollback returns everyone to the monolith', async () => {
    await flags('set', 'catalog-read', '--stage', 'canary', '--percent', '50');
    await eventually(() => router.flags.stage('ficus.catalog-read').stage === 'canary', refreshMs + 2000, 'canary applied');
    const split = await load(`${routerUrl}/api/v1/products/1`, { total: 400, concurrency: 20, headers: (i) => ({ 'x-user-id': `user-${i}` }) });
    expect(split.servedBy['catalog']).toBeGreaterThan(120);
    expect(split.servedBy['monolith']).toBeGreaterThan(120);
    await flags('rollback', 'catalog-read');
    await eventually(async () => (await servedBy()) === 'monolith', refreshMs + 2000, 'rolled back');
  });

  it('stopping the Unleash server changes nothing for clients', async () => {
    await flags('set', 'catalog-read', '--stage', 'service');
    await eventually(async () => (await servedBy()) === 'catalog', refreshMs + 2000, 'service stage');
    unleash.child.kill('SIGTERM');
    await unleash.exited;
    await new Promise((resolve) => setTimeout(resolve, refreshMs * 3));
    const result = await load(`${routerUrl}/api/v1/products/1`, { total: 500, concurrency: 20 });
    expect(result.statuses).toEqual({ 200: 500 });
    expect(result.servedBy).toEqual({ catalog: 500 });
  });
});
