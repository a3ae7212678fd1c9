import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { createLogger } from '../../../platform/src/index.js';
import { createAdminApp } from '../../../router/src/admin.js';
import type { ServedEvent } from '../../../router/src/served-event.js';
import { eventually, routerForms, startRouterForm, startTestRouter, type FormRouter } from '../../kit/router.js';
import { load, openTunnel, startEchoUpstream, type EchoUpstream, type Seen } from '../../kit/upstreams.js';

/**
 * `old-products` is retired: its module is gone from the monolith. `live` is at stage service
 * on the same service, for contrast: it falls back to the monolith, the retired route never does.
 * The breaker is set high so that the failures the tests cause do not open it.
 */
const routesYaml = (monolith: string, catalog: string) => `
upstreams:
  monolith: { url: "${monolith}" }
  catalog:
    url: "${catalog}"
    connectTimeoutMs: 300
    breaker: { consecutiveFailures: 1000, halfOpenAfterMs: 200 }
defaultUpstream: monolith
routes:
  - id: old-products
    match: { path: /api/v1/products/** }
    service: catalog
    stage: retired
  - id: live
    match: { path: /api/v1/live/** }
    service: catalog
`;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(routerForms)('a retired route in the %s router', (form) => {
  let monolith: EchoUpstream;
  let service: EchoUpstream;
  let t: FormRouter;

  beforeAll(async () => {
    monolith = await startEchoUpstream('monolith');
    service = await startEchoUpstream('catalog');
    t = await startRouterForm(form, routesYaml(monolith.url, service.url));
    // Toggles left behind from before the route was retired, as wrong as they come: the monolith
    // serving, with every request mirrored.
    await t.setStage('old-products', 'shadow', 0, 100);
    await t.setStage('live', 'service');
    await eventually(() => t.flags.stage('ficus.live').stage === 'service', 2000, 'flags applied');
    expect(t.flags.stage('ficus.old-products')).toMatchObject({ stage: 'shadow', sample: 100 });
  });
  afterAll(async () => {
    await t.close();
    await monolith.stop();
    await service.stop();
  });

  it('sends every request to its service whatever its leftover toggles say: the monolith sees none, served or mirrored', async () => {
    const events: ServedEvent[] = [];
    t.onServed((event) => events.push(event));
    const gets = await load(`${t.url}/api/v1/products/7`, { total: 100, concurrency: 10 });
    expect(gets.servedBy).toEqual({ catalog: 100 });
    expect(gets.statuses).toEqual({ 200: 100 });
    const post = await fetch(`${t.url}/api/v1/products`, { method: 'POST', body: '{"sku":"x"}' });
    expect(post.headers.get('x-ficus-route')).toBe('old-products');
    expect(await post.json()).toMatchObject({ upstream: 'catalog', method: 'POST', body: '{"sku":"x"}' });
    await eventually(() => events.length === 101, 2000, 'served events');
    expect(new Set(events.map((e) => `${e.routeId} ${e.stage} ${e.upstream}`))).toEqual(
      new Set(['old-products retired catalog']),
    );
    // A mirror would go out once each response has ended; give it the time it would take.
    await pause(300);
    expect(monolith.seen).toEqual([]);
  });

  it('keeps serving from its service while the monolith is down', async () => {
    await monolith.stop();
    try {
      const res = await fetch(`${t.url}/api/v1/products/1`);
      expect(res.status).toBe(200);
      expect(((await res.json()) as Seen).upstream).toBe('catalog');
    } finally {
      await monolith.restart();
    }
  });

  it('tunnels upgrades to its service, and with its service down refuses them rather than asking the monolith', async () => {
    const tunnel = await openTunnel(t.url, '/api/v1/products/socket', 'websocket');
    expect(tunnel.head).toMatch(/^HTTP\/1\.1 101 /);
    expect(tunnel.head.toLowerCase()).toContain('x-upstream: catalog');
    await service.stop();
    try {
      const seen = monolith.seen.length;
      expect((await openTunnel(t.url, '/api/v1/products/socket', 'websocket')).head).toMatch(/^HTTP\/1\.1 502 /);
      expect(monolith.seen.length).toBe(seen);
    } finally {
      await service.restart();
    }
  });

  it('has no fallback: with its service down, a GET and a POST get 502 problem+json and the monolith is not asked', async () => {
    await service.stop();
    try {
      const seen = monolith.seen.length;
      for (const method of ['GET', 'POST']) {
        const res = await fetch(`${t.url}/api/v1/products/1`, { method, ...(method === 'POST' ? { body: '{}' } : {}) });
        expect(res.status).toBe(502);
        expect(res.headers.get('content-type')).toContain('application/problem+json');
        expect(res.headers.get('x-ficus-fallback')).toBeNull();
        expect(((await res.json()) as { code: string }).code).toBe('FICUS_ERR_UPSTREAM_UNAVAILABLE');
      }
      expect(monolith.seen.length).toBe(seen);
      // The route at stage service on the same service does fall back: the difference is the stage.
      const live = await fetch(`${t.url}/api/v1/live/1`);
      expect(live.headers.get('x-ficus-fallback')).toBe('connect');
      expect(((await live.json()) as Seen).upstream).toBe('monolith');
    } finally {
      await service.restart();
    }
  });
});

describe('the admin API of a router with a retired route', () => {
  it('shows the route at stage retired, all on its service, with no fallback and no sample', async () => {
    const monolith = await startEchoUpstream('monolith');
    const service = await startEchoUpstream('catalog');
    const t = await startTestRouter(routesYaml(monolith.url, service.url));
    try {
      await t.setStage('old-products', 'shadow', 0, 100);
      await eventually(() => t.router.flags.stage('ficus.old-products').stage === 'shadow', 2000, 'flags applied');
      const admin = createAdminApp(t.router, { logger: createLogger({ level: 'silent', name: 'admin' }) });
      const { body } = await request(admin.app).get('/routes').expect(200);
      expect(body.routes.find((r: { id: string }) => r.id === 'old-products')).toMatchObject({
        service: 'catalog',
        flag: 'ficus.old-products',
        stage: 'retired',
        percent: 100,
        sample: 0,
        fallback: 'none',
      });
      expect(body.routes.find((r: { id: string }) => r.id === 'live')).toMatchObject({
        stage: 'monolith',
        fallback: 'monolith',
      });
    } finally {
      await t.close();
      await monolith.stop();
      await service.stop();
    }
  });
});
