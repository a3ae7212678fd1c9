import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestRouter, type TestRouter } from '../../kit/router.js';
import { load, startEchoUpstream, type EchoUpstream } from '../../kit/upstreams.js';

let monolith: EchoUpstream;
let service: EchoUpstream;
let t: TestRouter;

beforeAll(async () => {
  monolith = await startEchoUpstream('monolith');
  service = await startEchoUpstream('orders');
  t = await startTestRouter(`
upstreams:
  monolith: { url: "${monolith.url}" }
  orders:
    url: "${service.url}"
    connectTimeoutMs: 200
    responseTimeoutMs: 300
    maxConcurrent: 4
    retries: 1
    breaker: { consecutiveFailures: 5, halfOpenAfterMs: 300 }
  strict:
    url: "${service.url}"
    maxConcurrent: 2
defaultUpstream: monolith
routes:
  - id: orders
    match: { path: /api/v1/orders/** }
    service: orders
  - id: strict
    match: { path: /api/v1/strict/** }
    service: strict
    fallback: none
`);
  await t.setStage('orders', 'service');
  await t.setStage('strict', 'service');
  await eventually(() => t.router.flags.stage('ficus.strict').stage === 'service', 2000, 'flags applied');
});
afterAll(async () => {
  await t.close();
  await monolith.stop();
  await service.stop();
});

const breaker = () => t.router.state.upstream('orders').breakerState;
const fallbacks = () => t.router.counters.get('orders').fallbacks;

describe('resilience of a route served by a service', () => {
  it('service killed during 5,000 requests at concurrency 50: no client sees a non-2xx, fallbacks are counted, the breaker opens and closes again', async () => {
    const before = fallbacks();
    const running = load(`${t.url}/api/v1/orders/1`, { total: 5000, concurrency: 50 });
    await eventually(() => service.seen.length > 300, 5000, 'service took traffic');
    await service.stop();
    await eventually(() => breaker() === 'open', 5000, 'breaker opened');
    const result = await running;
    expect(result.errors).toBe(0);
    expect(result.statuses).toEqual({ 200: 5000 });
    expect(result.servedBy['orders']).toBeGreaterThan(0);
    expect(result.servedBy['monolith']).toBeGreaterThan(0);
    expect(fallbacks() - before).toBe(result.servedBy['monolith']);
    const metrics = await t.router.metrics.registry.metrics();
    expect(metrics).toMatch(
      /ficus_router_fallbacks_total\{route="orders",from="orders",reason="(connect|circuit-open)"\} \d+/,
    );

    await service.restart();
    await eventually(
      async () => {
        const res = await fetch(`${t.url}/api/v1/orders/1`);
        await res.arrayBuffer();
        return breaker() === 'closed' && res.headers.get('x-ficus-upstream') === 'orders';
      },
      5000,
      'breaker closed after the service returned',
    );
  });

  it('hands a POST to the monolith when the service never received it (connection refused)', async () => {
    await service.stop();
    try {
      const res = await fetch(`${t.url}/api/v1/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"a":1}',
      });
      expect(res.headers.get('x-ficus-upstream')).toBe('monolith');
      expect(((await res.json()) as { body: string }).body).toBe('{"a":1}');
    } finally {
      await service.restart();
    }
  });

  it('does not replay a POST the service received: its 5xx reaches the client', async () => {
    await eventually(() => breaker() !== 'open', 3000, 'breaker not open');
    service.failWith = 500;
    try {
      const seen = monolith.seen.length;
      const res = await fetch(`${t.url}/api/v1/orders`, { method: 'POST', body: 'x' });
      expect(res.status).toBe(500);
      expect(res.headers.get('x-ficus-upstream')).toBe('orders');
      expect(monolith.seen.length).toBe(seen);
      const get = await fetch(`${t.url}/api/v1/orders/2`);
      expect(get.status).toBe(200);
      expect(get.headers.get('x-ficus-upstream')).toBe('monolith');
    } finally {
      service.failWith = undefined;
    }
  });

  it('falls back when the service does not answer within responseTimeoutMs (idempotent request)', async () => {
    await eventually(() => breaker() !== 'open', 3000, 'breaker not open');
    // undici checks header timeouts on a half-second clock: 300 ms fires within about a second.
    service.delayMs = 3000;
    const fallbacksSeen: unknown[] = [];
    t.router.onServed((event) => {
      if (event.path === '/api/v1/orders/3') fallbacksSeen.push(event.fallback);
    });
    try {
      const started = Date.now();
      const res = await fetch(`${t.url}/api/v1/orders/3`);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-ficus-upstream')).toBe('monolith');
      // Served after the service's 300 ms response timeout, not by an open circuit.
      expect(fallbacksSeen).toEqual([{ from: 'orders', reason: 'timeout' }]);
      // After the 300 ms timeout (undici's timer clock makes that up to about a second), and before
      // the service's own answer at 3 s would have come.
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      expect(Date.now() - started).toBeLessThan(service.delayMs);
    } finally {
      service.delayMs = 0;
    }
  });

  it('bulkhead: beyond maxConcurrent the request falls back; with fallback none it gets 503 and Retry-After', async () => {
    await eventually(() => breaker() !== 'open', 3000, 'breaker not open');
    service.delayMs = 250;
    try {
      const [held, strict] = await Promise.all([
        load(`${t.url}/api/v1/orders/4`, { total: 12, concurrency: 12 }),
        Promise.all(
          Array.from({ length: 8 }, () =>
            fetch(`${t.url}/api/v1/strict/1`).then(async (r) => ({
              status: r.status,
              retryAfter: r.headers.get('retry-after'),
              body: await r.text(),
            })),
          ),
        ),
      ]);
      expect(held.statuses).toEqual({ 200: 12 });
      expect(held.servedBy['monolith']).toBeGreaterThan(0);
      const refused = strict.filter((r) => r.status === 503);
      expect(refused.length).toBeGreaterThan(0);
      expect(refused[0]!.retryAfter).toBe('1');
      expect(JSON.parse(refused[0]!.body).code).toBe('FICUS_ERR_UPSTREAM_SATURATED');
    } finally {
      service.delayMs = 0;
    }
  });

  it('with fallback none, a dead service gives 502 problem+json and the monolith is not asked', async () => {
    await service.stop();
    try {
      const seen = monolith.seen.length;
      const res = await fetch(`${t.url}/api/v1/strict/1`);
      expect(res.status).toBe(502);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(((await res.json()) as { code: string }).code).toBe('FICUS_ERR_UPSTREAM_UNAVAILABLE');
      expect(monolith.seen.length).toBe(seen);
    } finally {
      await service.restart();
    }
  });
});

describe('clients that hang up', () => {
  it('an upload the client abandons is recorded as 499 and does not count against the service breaker', async () => {
    await eventually(() => breaker() === 'closed', 3000, 'breaker closed');
    const statuses: number[] = [];
    t.router.onServed((event) => {
      if (event.path === '/api/v1/orders/abandoned') statuses.push(event.status);
    });
    const { request } = await import('node:http');
    const url = new URL(t.url);
    for (let i = 0; i < 7; i++) {
      const req = request({
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path: '/api/v1/orders/abandoned',
        headers: { 'content-length': '1000000' },
      });
      req.on('error', () => undefined);
      req.write('x'.repeat(1000));
      await new Promise((resolve) => setTimeout(resolve, 50));
      req.destroy();
    }
    await eventually(() => statuses.length === 7, 3000, 'seven abandoned uploads recorded');
    expect(statuses).toEqual(Array(7).fill(499));
    expect(breaker()).toBe('closed');
    expect(t.router.state.upstream('orders').inFlight).toBe(0);
  });

  it('a pipelining client that hangs up frees the slots of answers queued behind a slow one', async () => {
    const { createServer } = await import('node:http');
    const upstream = createServer((req, res) => {
      setTimeout(() => res.end(req.url), req.url === '/slow' ? 400 : 0);
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    const r = await startTestRouter(`
upstreams:
  monolith: { url: "http://127.0.0.1:${(upstream.address() as AddressInfo).port}" }
defaultUpstream: monolith
routes: []
`);
    try {
      const { connect } = await import('node:net');
      const socket = connect(Number(new URL(r.url).port), '127.0.0.1');
      socket.on('error', () => undefined);
      socket.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTTP/1.1\r\nHost: x\r\n\r\n');
      // /fast is answered at once but its response waits behind /slow's; the client leaves before either is sent.
      await eventually(() => r.router.state.upstream('monolith').inFlight === 2, 2000, 'both requests in flight');
      await new Promise((resolve) => setTimeout(resolve, 100));
      socket.destroy();
      await eventually(() => r.router.state.upstream('monolith').inFlight === 0, 2000, 'both slots freed');
    } finally {
      await r.close();
      upstream.closeAllConnections();
      upstream.close();
    }
  });
});

describe('an upstream that stalls in the middle of a response body', () => {
  it('has the client connection cut after responseTimeoutMs, frees its bulkhead slot and counts a 504', async () => {
    const { createServer } = await import('node:http');
    const stalling = createServer((req, res) => {
      if (req.url === '/ok') return void res.end('fine');
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first part; the rest never comes');
    });
    stalling.listen(0, '127.0.0.1');
    await once(stalling, 'listening');
    const r = await startTestRouter(`
upstreams:
  monolith: { url: "http://127.0.0.1:${(stalling.address() as AddressInfo).port}", responseTimeoutMs: 300, maxConcurrent: 1 }
defaultUpstream: monolith
routes: []
`);
    const statuses: number[] = [];
    r.router.onServed((event) => statuses.push(event.status));
    try {
      const started = Date.now();
      const res = await fetch(`${r.url}/stall`);
      expect(res.status).toBe(200);
      await expect(res.text()).rejects.toThrow();
      expect(Date.now() - started).toBeGreaterThanOrEqual(300);
      // The one slot is free again: the next request is served, not refused with 503.
      const next = await fetch(`${r.url}/ok`);
      expect(next.status).toBe(200);
      expect(await next.text()).toBe('fine');
      expect(statuses).toEqual([504, 200]);
    } finally {
      await r.close();
      stalling.closeAllConnections();
      stalling.close();
    }
  });
});
