import { connect, type Socket } from 'node:net';
import type { ServedEvent } from '../../../router/src/served-event.js';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, routeTableYaml, routerForms, startRouterForm, type FormRouter } from '../../kit/router.js';
import { openTunnel, startEchoUpstream, type EchoUpstream, type Seen } from '../../kit/upstreams.js';

// One suite, run against both forms of the router: a route, a decision, a fallback, a tunnel and
// a served event mean the same in the standalone router and in the express middleware.
describe.each(routerForms)('the %s router', (form) => {
  let monolith: EchoUpstream;
  let service: EchoUpstream;
  let t: FormRouter;

  beforeAll(async () => {
    monolith = await startEchoUpstream('monolith');
    service = await startEchoUpstream('live');
    t = await startRouterForm(
      form,
      routeTableYaml(
        { monolith: monolith.url, live: service.url },
        { live: { path: '/api/v1/live/**', service: 'live' } },
      ),
    );
    await t.setStage('live', 'service');
    await eventually(() => t.flags.stage('ficus.live').stage === 'service', 2000, 'flags applied');
  });
  afterAll(async () => {
    await t.close();
    await monolith.stop();
    await service.stop();
  });

  it('strips hop-by-hop headers both ways, keeps repeated response fields apart, and sets X-Forwarded-*, X-Request-Id and traceparent', async () => {
    const res = await new Promise<{ headers: Record<string, unknown>; body: Seen }>((resolve, reject) => {
      const url = new URL(t.url);
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: '/api/v1/things?x=1',
          headers: {
            connection: 'keep-alive, x-secret-hop',
            'x-secret-hop': 'must not pass',
            'keep-alive': 'timeout=5',
            'proxy-authorization': 'Basic abc',
            te: 'trailers',
            'x-forwarded-for': '203.0.113.7',
            'x-request-id': 'req-42',
            traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
            'x-custom': 'kept',
          },
        },
        (response) => {
          let body = '';
          response.on('data', (c: Buffer) => (body += c.toString()));
          response.on('end', () => resolve({ headers: response.headers, body: JSON.parse(body) as Seen }));
        },
      );
      req.once('error', reject);
      req.end();
    });
    const sent = res.body.headers;
    expect(sent['x-secret-hop']).toBeUndefined();
    expect(sent['keep-alive']).toBeUndefined();
    expect(sent['proxy-authorization']).toBeUndefined();
    expect(sent['te']).toBeUndefined();
    expect(sent['x-custom']).toBe('kept');
    expect(sent['x-forwarded-for']).toBe('203.0.113.7, 127.0.0.1');
    expect(sent['x-forwarded-proto']).toBe('http');
    expect(sent['x-forwarded-host']).toBe(new URL(t.url).host);
    expect(sent['host']).toBe(new URL(monolith.url).host);
    expect(sent['x-request-id']).toBe('req-42');
    expect(sent['traceparent']).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    expect(res.body.url).toBe('/api/v1/things?x=1');
    // The upstream's own hop-by-hop response headers do not reach the client.
    expect(res.headers['x-upstream-hop']).toBeUndefined();
    expect(res.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; Path=/']);
    // The router's request id replaces the upstream's own.
    expect(res.headers['x-request-id']).toBe('req-42');
    expect(res.headers['x-ficus-route']).toBe('default');
    expect(res.headers['x-ficus-upstream']).toBe('monolith');
  });

  it('starts a trace and a request id when the client sent none', async () => {
    const res = await fetch(`${t.url}/api/v1/things`);
    const body = (await res.json()) as Seen;
    expect(body.headers['traceparent']).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(body.headers['x-request-id']).toBe(res.headers.get('x-request-id'));
  });

  it('answers Expect: 100-continue itself and forwards the body', async () => {
    const url = new URL(t.url);
    const seen = await new Promise<Seen>((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          method: 'POST',
          path: '/api/v1/live/expect',
          headers: { expect: '100-continue', 'content-length': '5' },
        },
        (response) => {
          let body = '';
          response.on('data', (c: Buffer) => (body += c.toString()));
          response.on('end', () => resolve(JSON.parse(body) as Seen));
        },
      );
      req.once('error', reject);
      req.once('continue', () => req.end('hello'));
    });
    expect(seen.body).toBe('hello');
    expect(seen.headers['expect']).toBeUndefined();
  });

  it('lives on when clients hang up before or while their answers arrive, freeing every slot and recording each request once', async () => {
    const served: string[] = [];
    t.onServed((event) => {
      if (event.path.startsWith('/api/v1/things/hangup-')) served.push(event.path);
    });
    monolith.delayMs = 150;
    try {
      const hungUp = Array.from({ length: 20 }, (_, i) => {
        const controller = new AbortController();
        const pending = fetch(`${t.url}/api/v1/things/hangup-${i}`, { signal: controller.signal }).catch(
          () => undefined,
        );
        setTimeout(() => controller.abort(), i % 2 ? 50 : 160);
        return pending;
      });
      await Promise.all(hungUp);
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      monolith.delayMs = 0;
    }
    const res = await fetch(`${t.url}/api/v1/things/after`);
    expect(res.status).toBe(200);
    await eventually(() => t.state.upstream('monolith').inFlight === 0, 2000, 'every bulkhead slot freed');
    expect(served.length).toBe(20);
  });

  it('streams a 4 MiB body through to the service and back', async () => {
    const payload = 'x'.repeat(4 * 1024 * 1024);
    const res = await fetch(`${t.url}/api/v1/live/upload`, { method: 'POST', body: payload });
    expect(res.headers.get('x-ficus-upstream')).toBe('live');
    const body = (await res.json()) as Seen;
    expect(body.body.length).toBe(payload.length);
  });

  it('answers a refused upgrade with the upstream’s status and body', async () => {
    const { createServer } = await import('node:http');
    const refusing = createServer();
    refusing.on('upgrade', (_req, socket) =>
      socket.end(
        'HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n6\r\nnope!\n\r\n0\r\n\r\n',
      ),
    );
    refusing.listen(0, '127.0.0.1');
    await new Promise((resolve) => refusing.once('listening', resolve));
    const refusingUrl = `http://127.0.0.1:${(refusing.address() as { port: number }).port}`;
    const other = await startRouterForm(form, routeTableYaml({ monolith: refusingUrl }, {}));
    try {
      const url = new URL(other.url);
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(url.port), url.hostname);
        let data = '';
        socket.on('data', (chunk) => (data += chunk.toString()));
        socket.once('end', () => resolve(data));
        socket.once('error', reject);
        socket.write('GET /socket HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
      });
      expect(answer).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/);
      expect(answer.toLowerCase()).toContain('content-length: 6\r\n');
      expect(answer.toLowerCase()).not.toContain('transfer-encoding');
      expect(answer.endsWith('\r\n\r\nnope!\n')).toBe(true);
    } finally {
      await other.close();
      refusing.close();
    }
  });

  it('routes WebSocket upgrades by the same table', async () => {
    const url = new URL(t.url);
    const echoed = await new Promise<{ head: string; echo: string }>((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname);
      let data = '';
      socket.on('data', (chunk) => {
        data += chunk.toString();
        if (data.includes('\r\n\r\n') && !data.endsWith('\r\n\r\n') && data.includes('ping')) {
          resolve({ head: data.split('\r\n\r\n')[0]!, echo: data.split('\r\n\r\n')[1]! });
          socket.destroy();
        } else if (data.includes('\r\n\r\n') && !data.includes('ping')) {
          socket.write('ping');
        }
      });
      socket.once('error', reject);
      socket.write('GET /api/v1/live/socket HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
    });
    expect(echoed.head).toMatch(/^HTTP\/1\.1 101/);
    expect(echoed.head.toLowerCase()).toContain('x-upstream: live');
    expect(echoed.echo).toBe('ping');
    expect(service.seen.at(-1)).toMatchObject({ url: '/api/v1/live/socket', method: 'GET' });
  });

  it('frees the slot of a client that leaves before a slow service answers, without counting it against the service', async () => {
    service.delayMs = 2000;
    try {
      for (let i = 0; i < 6; i++) {
        const controller = new AbortController();
        const pending = fetch(`${t.url}/api/v1/live/slow-${i}`, { signal: controller.signal }).catch(() => undefined);
        setTimeout(() => controller.abort(), 100);
        await pending;
      }
      // Well before the service's answer at 2 s: the slots are not held until the response timeout.
      await eventually(() => t.state.upstream('live').inFlight === 0, 1500, 'slots freed');
      expect(t.state.upstream('live').breakerState).toBe('closed');
    } finally {
      service.delayMs = 0;
    }
  });

  it('routes by the table and the flags, and emits one served event per request with route, stage and upstream', async () => {
    const events: ServedEvent[] = [];
    t.onServed((event) => events.push(event));
    const res = await fetch(`${t.url}/api/v1/live/events?q=1`);
    expect(res.headers.get('x-ficus-route')).toBe('live');
    expect(res.headers.get('x-ficus-upstream')).toBe('live');
    await res.arrayBuffer();
    await eventually(() => events.length === 1, 2000, 'served event');
    expect(events[0]).toMatchObject({
      method: 'GET',
      path: '/api/v1/live/events?q=1',
      routeId: 'live',
      stage: 'service',
      upstream: 'live',
      status: 200,
    });
    if (form === 'express') expect(await (await fetch(`${t.url}/gateway/health`)).json()).toEqual({ ok: true });
  });

  it('normalizes paths before matching and forwarding, and refuses what it cannot normalize (400) or is too long (414)', async () => {
    const seen = await rawGet(t.url, '/api/v1/things/%2e%2e/live/9');
    expect(seen.status).toBe(200);
    expect(JSON.parse(seen.body)).toMatchObject({ upstream: 'live', url: '/api/v1/live/9' });
    expect((await rawGet(t.url, '/api/v1/live%2f..%2fthings')).status).toBe(400);
    expect((await rawGet(t.url, `/api/v1/${'a'.repeat(2100)}`)).status).toBe(414);
  });

  it('hands a GET and a small POST to the monolith when the service cannot be reached, and says so in x-ficus-fallback', async () => {
    const events: ServedEvent[] = [];
    t.onServed((event) => events.push(event));
    await service.stop();
    try {
      const get = await fetch(`${t.url}/api/v1/live/2`);
      expect(((await get.json()) as Seen).upstream).toBe('monolith');
      expect(get.headers.get('x-ficus-fallback')).toBe('connect');
      const post = await fetch(`${t.url}/api/v1/live/orders`, {
        method: 'POST',
        body: 'small body',
        headers: { 'content-type': 'text/plain' },
      });
      expect(await post.json()).toMatchObject({ upstream: 'monolith', method: 'POST', body: 'small body' });
      expect(post.headers.get('x-ficus-fallback')).toBe('connect');
      await eventually(() => events.length === 2, 2000, 'served events');
      expect(events.map((e) => e.fallback)).toEqual([
        { from: 'live', reason: 'connect' },
        { from: 'live', reason: 'connect' },
      ]);
    } finally {
      await service.restart();
    }
  });

  it('upgrades only to websocket unless the route allows more, and refuses a 101 for another protocol', async () => {
    const refused = await openTunnel(t.url, '/api/v1/live/socket', 'h2c');
    expect(refused.head).toMatch(/^HTTP\/1\.1 400 /);
    expect(refused.head).toContain('upgrade to "h2c" is not allowed on route live');
    const { createServer } = await import('node:http');
    const liar = createServer();
    liar.on('upgrade', (_req, socket) =>
      socket.end('HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: foo\r\n\r\n'),
    );
    liar.listen(0, '127.0.0.1');
    await new Promise((resolve) => liar.once('listening', resolve));
    const liarUrl = `http://127.0.0.1:${(liar.address() as { port: number }).port}`;
    const other = await startRouterForm(
      form,
      routeTableYaml(
        { monolith: liarUrl, liar: liarUrl },
        { raw: { path: '/raw/**', service: 'liar', extra: '    upgrades: [websocket, h2c]' } },
      ),
    );
    try {
      expect((await openTunnel(other.url, '/raw/x', 'h2c')).head).toMatch(/^HTTP\/1\.1 502 /);
      const mismatched = await openTunnel(other.url, '/socket', 'websocket');
      expect(mismatched.head).toMatch(/^HTTP\/1\.1 502 /);
      expect(mismatched.head).toContain('switched to "foo", not the "websocket" asked for');
    } finally {
      await other.close();
      liar.close();
    }
  });

  it('counts tunnels against the upstream’s maxTunnels, shows them in metrics, and frees the slot when a tunnel closes', async () => {
    const other = await startRouterForm(
      form,
      `
upstreams:
  monolith: { url: "${monolith.url}" }
  live: { url: "${service.url}", maxTunnels: 2 }
defaultUpstream: monolith
routes:
  - id: live
    match: { path: /api/v1/live/** }
    service: live
    fallback: none
`,
    );
    const open: Socket[] = [];
    try {
      await other.setStage('live', 'service');
      await eventually(() => other.flags.stage('ficus.live').stage === 'service', 2000, 'flags applied');
      for (let i = 0; i < 2; i++) {
        const tunnel = await openTunnel(other.url, '/api/v1/live/socket', 'websocket', false);
        expect(tunnel.head).toMatch(/^HTTP\/1\.1 101 /);
        open.push(tunnel.socket);
      }
      expect((await openTunnel(other.url, '/api/v1/live/socket', 'websocket')).head).toMatch(/^HTTP\/1\.1 503 /);
      expect(await other.metrics.registry.metrics()).toContain('ficus_router_upstream_tunnels{upstream="live"} 2');
      open.shift()!.destroy();
      await eventually(() => other.state.upstream('live').tunnels === 1, 2000, 'tunnel slot freed');
      const again = await openTunnel(other.url, '/api/v1/live/socket', 'websocket', false);
      expect(again.head).toMatch(/^HTTP\/1\.1 101 /);
      open.push(again.socket);
    } finally {
      for (const socket of open) socket.destroy();
      await other.close();
    }
  });

  it('sends upgrades to the monolith while the service’s circuit is open, and requests during the trial do not wait for it', async () => {
    const flaky = await startEchoUpstream('flaky');
    const other = await startRouterForm(
      form,
      `
upstreams:
  monolith: { url: "${monolith.url}" }
  flaky: { url: "${flaky.url}", retries: 0, breaker: { consecutiveFailures: 2, halfOpenAfterMs: 300 } }
defaultUpstream: monolith
routes:
  - id: flaky
    match: { path: /api/v1/flaky/** }
    service: flaky
`,
    );
    try {
      await other.setStage('flaky', 'service');
      await eventually(() => other.flags.stage('ficus.flaky').stage === 'service', 2000, 'flags applied');
      flaky.failWith = 500;
      for (let i = 0; i < 2; i++)
        expect((await fetch(`${other.url}/api/v1/flaky/${i}`)).headers.get('x-ficus-fallback')).toBe('status');
      expect(other.state.upstream('flaky').breakerState).toBe('open');
      const tunnel = await openTunnel(other.url, '/api/v1/flaky/socket', 'websocket');
      expect(tunnel.head).toMatch(/^HTTP\/1\.1 101 /);
      expect(tunnel.head.toLowerCase()).toContain('x-upstream: monolith');

      // Half-open: one slow trial request goes to the service; the others fall back at once.
      await new Promise((resolve) => setTimeout(resolve, 350));
      flaky.failWith = undefined;
      flaky.delayMs = 1500;
      const trial = fetch(`${other.url}/api/v1/flaky/trial`);
      await eventually(() => other.state.upstream('flaky').breakerState === 'half-open', 2000, 'trial under way');
      const started = performance.now();
      const during = await Promise.all(
        Array.from({ length: 10 }, (_, i) => fetch(`${other.url}/api/v1/flaky/during-${i}`)),
      );
      const took = performance.now() - started;
      for (const res of during) {
        expect(res.headers.get('x-ficus-upstream')).toBe('monolith');
        expect(res.headers.get('x-ficus-fallback')).toBe('circuit-open');
      }
      // Far less than the trial's 1.5 s: nobody waited for it.
      expect(took).toBeLessThan(1000);
      expect((await trial).headers.get('x-ficus-upstream')).toBe('flaky');
      expect(other.state.upstream('flaky').breakerState).toBe('closed');

      // A trial whose client leaves before the answer proves nothing: the circuit does not close on it.
      flaky.failWith = 500;
      for (let i = 0; i < 2; i++) await (await fetch(`${other.url}/api/v1/flaky/again-${i}`)).arrayBuffer();
      expect(other.state.upstream('flaky').breakerState).toBe('open');
      await new Promise((resolve) => setTimeout(resolve, 350));
      flaky.failWith = undefined;
      const controller = new AbortController();
      const abandoned = fetch(`${other.url}/api/v1/flaky/abandoned`, { signal: controller.signal }).catch(
        () => undefined,
      );
      await eventually(
        () => other.state.upstream('flaky').breakerState === 'half-open',
        2000,
        'second trial under way',
      );
      controller.abort();
      await abandoned;
      await eventually(() => other.state.upstream('flaky').inFlight === 0, 2000, 'trial ended');
      expect(other.state.upstream('flaky').breakerState).toBe('open');
    } finally {
      await other.close();
      await flaky.stop();
    }
  });
});

async function rawGet(base: string, path: string): Promise<{ status: number; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.once('error', reject);
    req.end();
  });
}
