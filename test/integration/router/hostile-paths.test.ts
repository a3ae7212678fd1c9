import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeTarget } from '../../../router/src/normalize-path.js';
import { matchRoute } from '../../../router/src/route-table/load.js';
import { eventually, routeTableYaml, startTestRouter, type TestRouter } from '../../kit/router.js';
import { startEchoUpstream, type EchoUpstream, type Seen } from '../../kit/upstreams.js';

let monolith: EchoUpstream;
let orders: EchoUpstream;
let t: TestRouter;

beforeAll(async () => {
  monolith = await startEchoUpstream('monolith');
  orders = await startEchoUpstream('orders');
  t = await startTestRouter(
    routeTableYaml(
      { monolith: monolith.url, orders: orders.url },
      { orders: { path: '/api/v1/orders/**', service: 'orders' } },
    ),
  );
  await t.setStage('orders', 'service');
  await eventually(() => t.router.flags.stage('ficus.orders').stage === 'service', 2000, 'flags applied');
});
afterAll(async () => {
  await t.close();
  await monolith.stop();
  await orders.stop();
});

/** Sends the raw request target as is (fetch would normalize it first). */
function raw(target: string): Promise<{ status: number; seen: Seen | undefined }> {
  return new Promise((resolve, reject) => {
    const url = new URL(t.url);
    const req = request({ host: url.hostname, port: url.port, path: target, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () =>
        resolve({
          status: res.statusCode!,
          seen: res.headers['content-type']?.startsWith('application/json') ? (JSON.parse(body) as Seen) : undefined,
        }),
      );
    });
    req.once('error', reject);
    req.end();
  });
}

/** Each hostile target with what must happen: refused with a status, or [upstream, path it receives]. */
const hostile: Array<[string, number | [string, string]]> = [
  ['/api/v1/orders/../admin', ['monolith', '/api/v1/admin']],
  ['/api/v1/orders/%2e%2e/admin', ['monolith', '/api/v1/admin']],
  ['/api/v1/orders/%2E%2E/%2e%2E/admin', ['monolith', '/api/admin']],
  ['/api/v1/orders/.%2e/admin', ['monolith', '/api/v1/admin']],
  // Double-encoded dots are not dot segments: a literal segment under the route.
  ['/api/v1/orders/%252e%252e/admin', ['orders', '/api/v1/orders/%252e%252e/admin']],
  ['/api/v1/orders%2f..%2fadmin', 400],
  ['/api/v1/orders/%2f%2e%2e%2fadmin', 400],
  ['/api/v1/orders/1%5c..%5cadmin', 400],
  ['/api/v1/orders/1%00', 400],
  ['//api/v1/orders/1', ['orders', '/api/v1/orders/1']],
  ['/api//v1/orders/1', ['orders', '/api/v1/orders/1']],
  ['/api/v1/./orders/1', ['orders', '/api/v1/orders/1']],
  ['/api/v1/admin/../orders/1', ['orders', '/api/v1/orders/1']],
  ['/api/v1/admin/%2e%2e/orders/1', ['orders', '/api/v1/orders/1']],
  // Matching ignores case; the upstream gets the path as written.
  ['/API/V1/ORDERS/1', ['orders', '/API/V1/ORDERS/1']],
  ['/Api/V1/Orders/../Admin', ['monolith', '/Api/V1/Admin']],
  ['/api/v1/orders/', ['orders', '/api/v1/orders']],
  ['/api/v1/orders', ['orders', '/api/v1/orders']],
  ['/api/v1/ordersX', ['monolith', '/api/v1/ordersX']],
  ['/api/v1/%6frders/1', ['orders', '/api/v1/orders/1']],
  ['/../api/v1/orders/1', 400],
  ['/api/v1/orders/1?next=/../../admin', ['orders', '/api/v1/orders/1?next=/../../admin']],
  [`/api/v1/orders/${'a'.repeat(3000)}`, 414],
  ['/api/v1/orders/%zz', 400],
  ['/api/v1/orders/é', 400],
];

describe('hostile request paths', () => {
  it.each(hostile)(
    '%s reaches only the upstream the table assigns to the path it arrives as',
    async (target, expected) => {
      const { status, seen } = await raw(target);
      expect(typeof expected === 'number' ? status : [seen?.upstream, seen?.url]).toEqual(expected);
      if (!seen) {
        // Refused by the router: nothing reached any upstream.
        expect([400, 414]).toContain(status);
        return;
      }
      const arrived = normalizeTarget(seen.url);
      expect(arrived.ok).toBe(true);
      if (!arrived.ok) return;
      // The upstream got a path that is already normalized...
      expect(arrived.path + arrived.search).toBe(seen.url);
      // ...and the table assigns that very path to the upstream that got it.
      const assigned = matchRoute(t.router.state.table, 'GET', arrived.segments, {})?.service ?? 'monolith';
      expect(seen.upstream).toBe(assigned);
    },
  );

  it('refuses encoded slashes, backslashes, NUL, bad escapes, non-ASCII and climbing above the root with 400, and overlong paths with 414', async () => {
    const before = monolith.seen.length + orders.seen.length;
    expect((await raw('/api/v1/orders%2f..%2fadmin')).status).toBe(400);
    expect((await raw('/api/v1/orders/1%5c..%5cadmin')).status).toBe(400);
    expect((await raw('/api/v1/orders/1%00')).status).toBe(400);
    expect((await raw('/api/v1/orders/%zz')).status).toBe(400);
    expect((await raw('/../api/v1/orders/1')).status).toBe(400);
    expect((await raw(`/api/v1/orders/${'a'.repeat(3000)}`)).status).toBe(414);
    expect((await raw('/api/v1/orders/é')).status).toBe(400);
    expect(monolith.seen.length + orders.seen.length).toBe(before);
  });

  it('sends dot segments that land outside the route to the monolith, resolved', async () => {
    const { seen } = await raw('/api/v1/orders/%2e%2e/admin');
    expect(seen).toMatchObject({ upstream: 'monolith', url: '/api/v1/admin' });
  });
});
