import { connect } from 'node:net';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, routeTableYaml, startTestRouter, type TestRouter } from '../../kit/router.js';
import { startEchoUpstream, type EchoUpstream, type Seen } from '../../kit/upstreams.js';

let monolith: EchoUpstream;
let service: EchoUpstream;
let t: TestRouter;

beforeAll(async () => {
  monolith = await startEchoUpstream('monolith');
  service = await startEchoUpstream('live');
  t = await startTestRouter(
    routeTableYaml({ monolith: monolith.url, live: service.url }, { live: { path: '/api/v1/live/**', service: 'live' } }),
  );
  await t.setStage('live', 'service');
  await eventually(() => t.router.flags.stage('ficus.live').stage === 'service', 2000, 'flags applied');
});
afterAll(async () => {
  await t.close();
  await monolith.stop();
  await service.stop();
});

describe('proxying', () => {
  it('strips hop-by-hop headers both ways, keeps repeated response fields apart, and sets X-Forwarded-*, X-Request-Id and traceparent', async () => {
    const res = await new Promise<{ headers: Record<string, unknown>; body: Seen }>((resolve, reject) => {
      const url = new URL(t.url);
      const req = request({
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
      }, (response) => {
        let body = '';
        response.on('data', (c: Buffer) => (body += c.toString()));
        response.on('end', () => resolve({ headers: response.headers, body: JSON.parse(body) as Seen }));
      });
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
      const req = request({ host: url.hostname, port: url.port, method: 'POST', path: '/api/v1/live/expect', headers: { expect: '100-continue', 'content-length': '5' } }, (response) => {
        let body = '';
        response.on('data', (c: Buffer) => (body += c.toString()));
        response.on('end', () => resolve(JSON.parse(body) as Seen));
      });
      req.once('error', reject);
      req.once('continue', () => req.end('hello'));
    });
    expect(seen.body).toBe('hello');
    expect(seen.headers['expect']).toBeUndefined();
  });

  it('lives on when clients hang up before or while their answers arrive, freeing every slot and recording each request once', async () => {
    const served: string[] = [];
    t.router.onServed((event) => {
      if (event.path.startsWith('/api/v1/things/hangup-')) served.push(event.path);
    });
    monolith.delayMs = 150;
    try {
      const hungUp = Array.from({ length: 20 }, (_, i) => {
        const controller = new AbortController();
        const pending = fetch(`${t.url}/api/v1/things/hangup-${i}`, { signal: controller.signal }).catch(() => undefined);
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
    await eventually(() => t.router.state.upstream('monolith').inFlight === 0, 2000, 'every bulkhead slot freed');
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
    refusing.on('upgrade', (_req, socket) => socket.end('HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n6\r\nnope!\n\r\n0\r\n\r\n'));
    refusing.listen(0, '127.0.0.1');
    await new Promise((resolve) => refusing.once('listening', resolve));
    const refusingUrl = `http://127.0.0.1:${(refusing.address() as { port: number }).port}`;
    const other = await startTestRouter(routeTableYaml({ monolith: refusingUrl }, {}));
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
});
