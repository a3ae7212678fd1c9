import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { defineApi, FicusError, remoteApi, type RemoteApi } from '../../../platform/src/index.js';
import { freePort } from '../../kit/ports.js';

interface ThingsApi {
  getThing(id: string): Promise<{ id: string; at: string }>;
  makeThing(name: string): Promise<{ id: string }>;
}

const spec = defineApi<ThingsApi>('things', { getThing: { writes: false }, makeThing: { writes: true } });

const servers: Server[] = [];
const clients: Array<RemoteApi<ThingsApi>> = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A node:http server answering with `handle`, and the requests it saw. */
async function serve(handle: (req: IncomingMessage, res: ServerResponse, body: string) => void) {
  const seen: Array<{ url: string; headers: IncomingMessage['headers']; body: string }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      seen.push({ url: req.url!, headers: req.headers, body });
      handle(req, res, body);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, seen };
}

function client(
  baseUrl: string,
  options: { timeoutMs?: number; retries?: number; token?: string; headers?: () => Record<string, string> } = {},
) {
  const api = remoteApi(spec, { baseUrl, timeoutMs: 300, ...options });
  clients.push(api);
  return api;
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => expect.unreachable('the call succeeded'),
    (error: unknown) => error as FicusError,
  );

describe('remoteApi', () => {
  it('posts the arguments as { args } and returns the result as parsed JSON', async () => {
    const upstream = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ result: { id: 't1', at: new Date(0).toISOString() } }));
    });
    const thing = await client(upstream.url).getThing('t1');
    expect(thing).toEqual({ id: 't1', at: '1970-01-01T00:00:00.000Z' });
    expect(upstream.seen[0]).toMatchObject({ url: '/internal/api/things/getThing', body: '{"args":["t1"]}' });
    expect(upstream.seen[0]!.headers['idempotency-key']).toBeUndefined();
  });

  it('gives every writing call an idempotency key of its own, and uses one given explicitly', async () => {
    const upstream = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"result":{"id":"x"}}');
    });
    const api = client(upstream.url);
    await api.makeThing('a');
    await api.makeThing('b');
    await api.withIdempotencyKey('my-key').makeThing('c');
    const keys = upstream.seen.map((s) => s.headers['idempotency-key']);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[1]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[0]).not.toBe(keys[1]);
    expect(keys[2]).toBe('my-key');
  });

  it('turns a problem+json answer into a FicusError with the same code, status and extensions', async () => {
    const upstream = await serve((_req, res) => {
      res.writeHead(409, { 'content-type': 'application/problem+json' });
      res.end(
        JSON.stringify({
          type: 'urn:ficus:error:FICUS_ERR_INSUFFICIENT_STOCK',
          title: 'Insufficient stock',
          status: 409,
          detail: 'product p has 1 in stock, 2 requested',
          instance: '/internal/api/things/makeThing',
          code: 'FICUS_ERR_INSUFFICIENT_STOCK',
          requestId: 'r1',
          productId: 'p',
          available: 1,
        }),
      );
    });
    const error = await failure(client(upstream.url).makeThing('a'));
    expect(error).toBeInstanceOf(FicusError);
    expect(error).toMatchObject({
      code: 'FICUS_ERR_INSUFFICIENT_STOCK',
      status: 409,
      message: 'product p has 1 in stock, 2 requested',
      extensions: { productId: 'p', available: 1 },
    });
  });

  it('retries a call whose connection was refused, then reports FICUS_ERR_UPSTREAM_UNAVAILABLE, not applied', async () => {
    const port = await freePort();
    let connectErrors = 0;
    const count = () => connectErrors++;
    subscribe('undici:client:connectError', count);
    try {
      const error = await failure(client(`http://127.0.0.1:${port}`, { retries: 2 }).makeThing('a'));
      expect(connectErrors).toBe(3);
      expect(error.code).toBe('FICUS_ERR_UPSTREAM_UNAVAILABLE');
      expect(error.extensions).toMatchObject({ api: 'things', method: 'makeThing', maybeApplied: false });
      expect(error.extensions!['idempotencyKey']).toMatch(/^[0-9a-f-]{36}$/);
      expect(error.message).toContain(`things service at http://127.0.0.1:${port}`);
      expect(error.message).toContain('not applied');
    } finally {
      unsubscribe('undici:client:connectError', count);
    }
  });

  it('sends a write that gets no answer once, and reports FICUS_ERR_UPSTREAM_TIMEOUT with its key', async () => {
    const upstream = await serve(() => undefined);
    const error = await failure(client(upstream.url, { timeoutMs: 200, retries: 2 }).makeThing('a'));
    expect(upstream.seen).toHaveLength(1);
    expect(error.code).toBe('FICUS_ERR_UPSTREAM_TIMEOUT');
    expect(error.status).toBe(504);
    const key = upstream.seen[0]!.headers['idempotency-key'];
    expect(error.extensions).toEqual({ api: 'things', method: 'makeThing', idempotencyKey: key, maybeApplied: true });
    expect(error.message).toContain('may have been applied');
    expect(error.message).toContain(String(key));
  });

  it('sends a write again after its connection broke only with the same idempotency key, as it does a read', async () => {
    const upstream = await serve((req) => req.socket.destroy());
    const api = client(upstream.url, { retries: 2 });
    const write = await failure(api.makeThing('a'));
    expect(upstream.seen).toHaveLength(3);
    const keys = upstream.seen.map((r) => r.headers['idempotency-key']);
    expect(new Set(keys).size).toBe(1);
    expect(keys[0]).toEqual(expect.any(String));
    expect(write.code).toBe('FICUS_ERR_UPSTREAM_UNAVAILABLE');
    expect(write.extensions).toMatchObject({ maybeApplied: true, idempotencyKey: keys[0] });
    const read = await failure(api.getThing('t'));
    expect(upstream.seen).toHaveLength(3 + 3);
    expect(read.code).toBe('FICUS_ERR_UPSTREAM_UNAVAILABLE');
  });

  it('keeps maybeApplied once an attempt was sent, when the service then refuses connections', async () => {
    const upstream = await serve((req) => {
      // Received (and, for all the client knows, applied); then the service is gone.
      req.socket.destroy();
      for (const server of servers) server.close();
    });
    const error = await failure(client(upstream.url, { retries: 2 }).makeThing('a'));
    expect(upstream.seen).toHaveLength(1);
    expect(error.code).toBe('FICUS_ERR_UPSTREAM_UNAVAILABLE');
    expect(error.extensions).toMatchObject({
      maybeApplied: true,
      idempotencyKey: upstream.seen[0]!.headers['idempotency-key'],
    });
    expect(error.message).toContain('after an earlier attempt was sent');
    expect(error.message).toContain('may have been applied');
  });

  it('reports a key still running after its waits with maybeApplied, to be asked again later', async () => {
    const upstream = await serve((_req, res) => {
      res.writeHead(409, { 'content-type': 'application/problem+json', 'retry-after': '1' });
      res.end(
        JSON.stringify({ code: 'FICUS_ERR_IDEMPOTENCY_IN_PROGRESS', detail: 'has not finished', method: 'makeThing' }),
      );
    });
    const error = await failure(client(upstream.url, { retries: 0 }).withIdempotencyKey('k-running').makeThing('a'));
    expect(error).toMatchObject({
      code: 'FICUS_ERR_IDEMPOTENCY_IN_PROGRESS',
      status: 409,
      extensions: { api: 'things', method: 'makeThing', idempotencyKey: 'k-running', maybeApplied: true },
    });
  });

  it('sends its token as authorization: Bearer, over an authorization of the headers option', async () => {
    const upstream = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"result":{"id":"x"}}');
    });
    await client(upstream.url, { token: 'the-token', headers: () => ({ authorization: 'Bearer other' }) }).makeThing(
      'a',
    );
    await client(upstream.url).getThing('t');
    expect(upstream.seen.map((s) => s.headers.authorization)).toEqual(['Bearer the-token', undefined]);
  });

  const unauthorized = (res: ServerResponse) => {
    res.writeHead(401, { 'content-type': 'application/problem+json', 'www-authenticate': 'Bearer' });
    res.end(JSON.stringify({ code: 'FICUS_ERR_API_UNAUTHORIZED', status: 401, detail: 'refused', api: 'things' }));
  };

  it('reports a refused token once, not retried, as FICUS_ERR_API_UNAUTHORIZED (502) saying to set it on both sides', async () => {
    const upstream = await serve((_req, res) => unauthorized(res));
    const error = await failure(client(upstream.url, { retries: 2, token: 'old-token' }).makeThing('a'));
    expect(upstream.seen).toHaveLength(1);
    expect(error).toMatchObject({
      code: 'FICUS_ERR_API_UNAUTHORIZED',
      status: 502,
      extensions: { api: 'things', method: 'makeThing', maybeApplied: false },
    });
    expect(error.extensions!['idempotencyKey']).toBe(upstream.seen[0]!.headers['idempotency-key']);
    expect(error.message).toContain("refused the call (401, the token sent is not the service's)");
    expect(error.message).toContain("the service's INTERNAL_API_TOKEN and the caller's token");
    expect(error.message).toContain('THINGS_API_TOKEN');
    expect(error.message).toContain('it was not applied (refused before it ran)');
    expect(error.message).not.toContain('old-token');
    const none = await failure(client(upstream.url).getThing('t'));
    expect(none.message).toContain('no token was sent');
  });

  it('keeps maybeApplied when the token is refused after an earlier attempt was sent', async () => {
    let calls = 0;
    const upstream = await serve((req, res) => (calls++ === 0 ? req.socket.destroy() : unauthorized(res)));
    const error = await failure(client(upstream.url, { retries: 2, token: 't' }).makeThing('a'));
    expect(upstream.seen).toHaveLength(2);
    expect(error.code).toBe('FICUS_ERR_API_UNAUTHORIZED');
    expect(error.extensions).toMatchObject({ maybeApplied: true });
    expect(error.message).toContain('it may have been applied: call again with idempotency key');
  });

  it('reports an answer that is not the API (a 502 page) as FICUS_ERR_UPSTREAM_UNAVAILABLE', async () => {
    const upstream = await serve((_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<h1>Bad gateway</h1>');
    });
    const error = await failure(client(upstream.url).getThing('t'));
    expect(error.code).toBe('FICUS_ERR_UPSTREAM_UNAVAILABLE');
    expect(error.message).toContain('answered 502');
  });
});

describe('defineApi', () => {
  it('refuses a method without a writes flag, or with a name the client keeps for itself', () => {
    expect(() => defineApi<{ close(): Promise<void> }>('x', { close: { writes: true } })).toThrow(/reserved/);
    expect(() => defineApi<{ a(): Promise<void> }>('Bad Name', { a: {} as { writes: boolean } })).toThrow(
      /lower-case.*writes: true \| false/,
    );
  });
});
