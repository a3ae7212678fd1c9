import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, routerForms, startRouterForm, startTestRouter, type FormRouter } from '../../kit/router.js';
import { startEchoUpstream, type EchoUpstream } from '../../kit/upstreams.js';

let monolith: EchoUpstream;
/** Answers every request with 32 MiB, more than socket buffers hold, so a client that stops reading stalls it. */
let bulky: Server;
let bulkyUrl: string;
const sockets: Socket[] = [];

beforeAll(async () => {
  monolith = await startEchoUpstream('monolith');
  const chunk = Buffer.alloc(64 * 1024, 120);
  bulky = createServer((_req, res) => {
    res.writeHead(200, { 'content-length': String(512 * chunk.length) });
    let sent = 0;
    const more = () => {
      while (sent < 512) {
        sent++;
        if (!res.write(chunk)) return void res.once('drain', more);
      }
      res.end();
    };
    more();
  });
  bulky.listen(0, '127.0.0.1');
  await once(bulky, 'listening');
  bulkyUrl = `http://127.0.0.1:${(bulky.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  bulky.closeAllConnections();
  bulky.close();
  await monolith.stop();
});

const table = (url: string, maxConcurrent: number) => `
upstreams:
  monolith: { url: "${url}", maxConcurrent: ${maxConcurrent} }
defaultUpstream: monolith
routes: []
`;

/** A raw client connection that records what it was sent and when it closed. */
function rawClient(base: string): { socket: Socket; received: () => string; closedAt: Promise<number> } {
  const url = new URL(base);
  const socket = connect(Number(url.port), url.hostname);
  sockets.push(socket);
  socket.on('error', () => undefined);
  let data = '';
  socket.on('data', (chunk: Buffer) => (data += chunk.toString('latin1')));
  // Not events.once: it rejects on 'error', and a connection the router cuts while the client is
  // still writing ends with a reset (ECONNRESET) as often as with a close.
  const closedAt = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now())));
  return { socket, received: () => data, closedAt };
}

const timeouts = async (t: { metrics: FormRouter['metrics'] }, deadline: string) => {
  const text = await t.metrics.registry.metrics();
  return Number(
    new RegExp(`ficus_router_client_timeouts_total\\{deadline="${deadline}"\\} (\\d+)`).exec(text)?.[1] ?? 0,
  );
};

describe('slow clients against the standalone router', () => {
  it('with the default deadlines, 20 clients trickling small bodies hold no upstream slot of a bulkhead of 10', async () => {
    const t = await startTestRouter(table(monolith.url, 10));
    try {
      const slow = Array.from({ length: 20 }, () => rawClient(t.url));
      for (const { socket } of slow)
        socket.write('POST /api/v1/orders HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nx');
      await new Promise((resolve) => setTimeout(resolve, 300));
      for (const { socket } of slow) socket.write('x');
      // Their bodies are read before an upstream slot is taken: nothing is in flight, others are served.
      expect(t.router.state.upstream('monolith').inFlight).toBe(0);
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          fetch(`${t.url}/api/v1/products/${i}`, i % 2 ? { method: 'POST', body: '{}' } : {}),
        ),
      );
      expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
      for (const { socket } of slow) socket.destroy();
    } finally {
      await t.close();
    }
  });

  it('cuts a large upload that never pauses but takes longer than the whole-request deadline, freeing its slot', async () => {
    const t = await startTestRouter(table(monolith.url, 2), {
      clientDeadlines: { headersMs: 1000, bodyIdleMs: 1000, requestMs: 1500 },
    });
    try {
      const slow = Array.from({ length: 2 }, () => rawClient(t.url));
      const started = performance.now();
      // 1 MiB declared: too large to read ahead, so it is streamed to the upstream and holds a slot.
      for (const { socket } of slow)
        socket.write('POST /api/v1/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n');
      const drip = setInterval(() => {
        for (const { socket } of slow) if (!socket.destroyed) socket.write('x'.repeat(10));
      }, 200);
      try {
        await eventually(() => t.router.state.upstream('monolith').inFlight === 2, 2000, 'both uploads hold a slot');
        expect((await fetch(`${t.url}/api/v1/products/1`)).status).toBe(503);
        const closed = await Promise.all(slow.map((c) => c.closedAt));
        // The deadline is checked every second: cut between 1.5 s and about 2.5 s (plus a loaded machine's slack).
        for (const at of closed) expect(at - started).toBeGreaterThan(1400);
        for (const at of closed) expect(at - started).toBeLessThan(6000);
      } finally {
        clearInterval(drip);
      }
      await eventually(() => t.router.state.upstream('monolith').inFlight === 0, 2000, 'slots freed');
      expect((await fetch(`${t.url}/api/v1/products/1`)).status).toBe(200);
      expect(await timeouts(t.router, 'request')).toBe(2);
    } finally {
      await t.close();
    }
  });

  it('answers 408 and closes a connection whose headers do not arrive within the header deadline', async () => {
    const t = await startTestRouter(table(monolith.url, 10), { clientDeadlines: { headersMs: 800, requestMs: 5000 } });
    try {
      const client = rawClient(t.url);
      const started = performance.now();
      client.socket.write('GET /api/v1/products HTTP/1.1\r\nHost: x\r\n');
      const drip = setInterval(() => !client.socket.destroyed && client.socket.write('x-more: 1\r\n'), 200);
      try {
        const closedAt = await client.closedAt;
        expect(closedAt - started).toBeLessThan(5000);
      } finally {
        clearInterval(drip);
      }
      expect(client.received()).toMatch(/^HTTP\/1\.1 408 /);
      expect(await timeouts(t.router, 'headers')).toBe(1);
      expect(monolith.seen.some((s) => s.url === '/api/v1/products' && s.headers['x-more'])).toBe(false);
    } finally {
      await t.close();
    }
  });
});

describe.each(routerForms)('slow clients against the %s router', (form) => {
  it('answers 408 to a request body that pauses longer than the body deadline (read ahead or streamed), and counts it', async () => {
    const t = await startRouterForm(form, table(monolith.url, 10), { clientDeadlines: { bodyIdleMs: 500 } });
    try {
      // 1000 bytes are read before an upstream is asked; 1 MiB streams to it and holds a slot meanwhile.
      for (const length of [1000, 1048576]) {
        const client = rawClient(t.url);
        client.socket.write(
          `POST /api/v1/orders HTTP/1.1\r\nHost: x\r\nContent-Length: ${length}\r\n\r\n${'x'.repeat(10)}`,
        );
        await client.closedAt;
        expect(client.received()).toMatch(/^HTTP\/1\.1 408 /);
        expect(client.received()).toContain('FICUS_ERR_CLIENT_TIMEOUT');
        await eventually(() => t.state.upstream('monolith').inFlight === 0, 2000, 'slot freed');
      }
      expect(await timeouts(t, 'body')).toBe(2);
    } finally {
      await t.close();
    }
  });

  it('cuts a client that stops reading a large response after the send deadline, freeing the slot', async () => {
    const t = await startRouterForm(form, table(bulkyUrl, 1), { clientDeadlines: { sendMs: 500 } });
    try {
      const client = rawClient(t.url);
      client.socket.write('GET /big HTTP/1.1\r\nHost: x\r\n\r\n');
      await eventually(() => client.received().startsWith('HTTP/1.1 200'), 3000, 'response started');
      client.socket.pause();
      await eventually(() => t.state.upstream('monolith').inFlight === 0, 5000, 'slot freed');
      expect(await timeouts(t, 'send')).toBe(1);
      const next = await fetch(`${t.url}/next`);
      expect(next.status).toBe(200);
      await next.body?.cancel();
    } finally {
      await t.close();
    }
  });
});
