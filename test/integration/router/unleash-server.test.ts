import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createLogger, dropDatabase, ensureDatabase, withDatabase } from '../../../platform/src/index.js';
import { createAdminApp } from '../../../router/src/admin.js';
import { FlagSource } from '../../../platform/src/flags/flag-source.js';
import { loadRouteTable } from '../../../router/src/route-table/load.js';
import { createRouter, type FicusRouter } from '../../../router/src/server.js';
import { freePort } from '../../kit/ports.js';
import { spawnNode, waitFor, type Spawned } from '../../kit/processes.js';
import { eventually, routeTableYaml, startTestRouter, type TestRouter } from '../../kit/router.js';
import { load, startEchoUpstream, type EchoUpstream } from '../../kit/upstreams.js';

const adminToken = '*:*.ficus-test-admin-secret';
const clientToken = 'default:development.ficus-test-client-secret';
const refreshMs = 500;
/** unleash-client backs off after failures and retries each failing fetch: news of a failure (or of recovery) takes seconds. */
const slowSignal = 15_000;

let database: string;
let unleash: Spawned;
let unleashUrl: string;
let monolith: EchoUpstream;
let service: EchoUpstream;
let files: TestRouter;
let router: FicusRouter;
let routerUrl: string;
/** Between the router and Unleash: passes the client API through, or fails it, or rewrites its toggles. */
let faults: Server;
let fault: { status?: number; rewrite?: (toggle: Record<string, unknown>) => void } = {};

async function startFaultProxy(target: string): Promise<string> {
  faults = createServer(async (req, res) => {
    if (fault.status) return void res.writeHead(fault.status).end('unavailable');
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers))
      if (typeof value === 'string' && name !== 'host') headers[name] = value;
    // Rewriting needs a full answer each time, not a 304.
    if (fault.rewrite) delete headers['if-none-match'];
    let upstream: Response;
    let body: string;
    try {
      upstream = await fetch(`${target}${req.url!.replace(/^\/api/, '')}`, { headers });
      body = await upstream.text();
    } catch {
      // Unleash itself is gone: what a load balancer in front of it would answer.
      return void res.writeHead(502).end('bad gateway');
    }
    if (!fault.rewrite || upstream.status !== 200)
      return void res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(body);
    const features = JSON.parse(body) as { features: Array<Record<string, unknown>> };
    for (const toggle of features.features) if (toggle['name'] === 'ficus.catalog-read') fault.rewrite(toggle);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(features));
  });
  faults.listen(0, '127.0.0.1');
  await once(faults, 'listening');
  return `http://127.0.0.1:${(faults.address() as AddressInfo).port}/api`;
}

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
    routeTableYaml(
      { monolith: monolith.url, catalog: service.url },
      { 'catalog-read': { path: '/api/v1/products/**', service: 'catalog', getOnly: true } },
    ),
  );
  const logger = createLogger({ level: 'silent', name: 'router' });
  const flags = FlagSource.fromServer({
    url: await startFaultProxy(unleashUrl),
    apiToken: clientToken,
    refreshMs,
    logger,
  });
  await flags.start();
  router = createRouter({ table: loadRouteTable(files.routesFile), flags, logger, userIdHeader: 'x-user-id' });
  router.server.listen(0, '127.0.0.1');
  await once(router.server, 'listening');
  routerUrl = `http://127.0.0.1:${(router.server.address() as AddressInfo).port}`;
}, 120_000);

afterAll(async () => {
  faults?.closeAllConnections();
  faults?.close();
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
  const proc = spawnNode(
    ['tools/bin/ficus.mjs', 'flags', ...args, '--routes', files.routesFile, '--audit', `${files.dir}/audit.jsonl`],
    {
      UNLEASH_URL: unleashUrl,
      UNLEASH_ADMIN_TOKEN: adminToken,
    },
  );
  expect(await proc.exited, proc.output()).toBe(0);
  return proc.output();
}

async function servedBy(): Promise<string | null> {
  const res = await fetch(`${routerUrl}/api/v1/products/1`, { headers: { 'x-user-id': 'u-1' } });
  await res.arrayBuffer();
  return res.headers.get('x-ficus-upstream');
}

/** Which upstreams served 100 requests of 100 different users. */
async function servedByUsers(): Promise<Record<string, number>> {
  const headers = (i: number) => ({ 'x-user-id': `u-${i}` });
  return (await load(`${routerUrl}/api/v1/products/1`, { total: 100, concurrency: 10, headers })).servedBy;
}

/** Flag mechanics are under test here, not the parity gate. */
const forced = ['--force', '--reason', 'flag mechanics under test'];

describe('flags from a real Unleash server', () => {
  it('creates the missing toggle through the Admin API and the router follows within a refresh interval and 2 s', async () => {
    expect(await servedBy()).toBe('monolith');
    const output = await flags('set', 'catalog-read', '--stage', 'service', ...forced);
    expect(output).toContain('catalog-read: monolith → service (Unleash');
    const took = await eventually(async () => (await servedBy()) === 'catalog', refreshMs + 2000, 'router followed');
    expect(took).toBeLessThan(refreshMs + 2000);
    expect(await flags('status')).toMatch(/catalog-read +\/api\/v1\/products\/\*\* +catalog +service/);
  });

  it('holds a shadow sample rate in Unleash like any stage, and the router follows it', async () => {
    await flags('set', 'catalog-read', '--stage', 'shadow', '--sample', '25');
    await eventually(
      () => router.flags.stage('ficus.catalog-read').stage === 'shadow',
      refreshMs + 2000,
      'shadow applied',
    );
    expect(router.flags.stage('ficus.catalog-read')).toEqual({ stage: 'shadow', percent: 0, sample: 25 });
    expect(await servedBy()).toBe('monolith');
    expect(await flags('status')).toMatch(/catalog-read +\/api\/v1\/products\/\*\* +catalog +shadow 25 %/);
    await flags('rollback', 'catalog-read');
    await eventually(
      () => router.flags.stage('ficus.catalog-read').stage === 'monolith',
      refreshMs + 2000,
      'rolled back',
    );
  });

  it('a canary set in Unleash splits users; rollback returns everyone to the monolith', async () => {
    await flags('set', 'catalog-read', '--stage', 'canary', '--percent', '50', ...forced);
    await eventually(
      () => router.flags.stage('ficus.catalog-read').stage === 'canary',
      refreshMs + 2000,
      'canary applied',
    );
    const split = await load(`${routerUrl}/api/v1/products/1`, {
      total: 400,
      concurrency: 20,
      headers: (i) => ({ 'x-user-id': `user-${i}` }),
    });
    expect(split.servedBy['catalog']).toBeGreaterThan(120);
    expect(split.servedBy['monolith']).toBeGreaterThan(120);
    await flags('rollback', 'catalog-read');
    await eventually(async () => (await servedBy()) === 'monolith', refreshMs + 2000, 'rolled back');
  });

  it('an Unleash server answering 500 shows on /status, /readyz and in metrics, and changes nothing for clients', async () => {
    await flags('set', 'catalog-read', '--stage', 'service', ...forced);
    await eventually(() => router.flags.stage('ficus.catalog-read').stage === 'service', slowSignal, 'service stage');
    const admin = createAdminApp(router, { logger: createLogger({ level: 'silent', name: 'admin' }) }).app;
    fault = { status: 500 };
    // unleash-client's HTTP client tries a failing fetch three times, a second or two apart, before it says so.
    await eventually(() => router.flags.status().lastError !== undefined, slowSignal, 'a failed fetch reported');
    const status = (await request(admin).get('/status')).body as { flags: { lastError: { message: string } } };
    expect(status.flags.lastError.message).toContain('500');
    const ready = await request(admin).get('/readyz');
    // Still ready: it serves with the last good flags; but it says so.
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'degraded', checks: { flags: expect.stringContaining('500') } });
    expect(await router.metrics.registry.metrics()).toMatch(
      /ficus_router_flag_source_errors_total\{source="[^"]+"\} [1-9]/,
    );
    const result = await load(`${routerUrl}/api/v1/products/1`, { total: 300, concurrency: 20 });
    expect(result.servedBy).toEqual({ catalog: 300 });
    fault = {};
    // unleash-client backs off after failures before it asks again.
    await eventually(() => router.flags.status().lastError === undefined, slowSignal, 'recovered');
    expect((await request(admin).get('/readyz')).body.status).toBe('ready');
  }, 60_000);

  it('follows a toggle without strategies, and serves a rollout it cannot read ("0x64") from the monolith, naming it', async () => {
    await flags('set', 'catalog-read', '--stage', 'canary', '--percent', '50', ...forced);
    await eventually(() => router.flags.stage('ficus.catalog-read').stage === 'canary', slowSignal, 'canary applied');
    // No strategies at all: on for everyone, as unleash-client evaluates it; the stage map follows.
    fault = { rewrite: (toggle) => delete toggle['strategies'] };
    await eventually(
      () => router.flags.stage('ficus.catalog-read').stage === 'service',
      slowSignal,
      'stage map follows',
    );
    expect(await servedByUsers()).toEqual({ catalog: 100 });
    // unleash-client would take "0x64" for 100 %; the router refuses it and serves the route from the monolith.
    fault = {
      rewrite: (toggle) =>
        ((toggle['strategies'] as Array<{ parameters: Record<string, string> }>)[0]!.parameters['rollout'] = '0x64'),
    };
    await eventually(
      () => router.flags.stage('ficus.catalog-read').stage === 'monolith',
      slowSignal,
      'unreadable rollout refused',
    );
    expect(router.flags.status().lastError?.message).toMatch(/ficus\.catalog-read.*0x64/);
    expect(await servedByUsers()).toEqual({ monolith: 100 });
    fault = {};
  }, 60_000);

  it('stopping the Unleash server changes nothing for clients, through the failed polls that follow', async () => {
    await flags('set', 'catalog-read', '--stage', 'service', ...forced);
    await eventually(() => router.flags.stage('ficus.catalog-read').stage === 'service', slowSignal, 'service stage');
    unleash.child.kill('SIGTERM');
    await unleash.exited;
    // Load runs on until the client has reported a failed poll, and on after it.
    const results: Array<Awaited<ReturnType<typeof load>>> = [];
    let reported = false;
    while (results.length < 50 && (!reported || results.length < 3)) {
      results.push(await load(`${routerUrl}/api/v1/products/1`, { total: 100, concurrency: 10 }));
      if (!reported && router.flags.status().lastError) reported = true;
      else await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(reported).toBe(true);
    expect(results.map((r) => r.servedBy)).toEqual(results.map(() => ({ catalog: 100 })));
  }, 60_000);
});
