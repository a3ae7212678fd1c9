import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CapturedExchange } from '../../../../router/src/shadow/capture.js';
import { countExchanges, readExchanges } from '../../../../tools/src/replay/read-exchanges.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ficus-replay-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function all(file: string): Promise<CapturedExchange[]> {
  const out: CapturedExchange[] = [];
  for await (const exchange of readExchanges(file)) out.push(exchange);
  return out;
}

const b64 = (text: string) => Buffer.from(text).toString('base64');
const line = (path: string, status = 200): CapturedExchange => ({
  v: 1,
  at: '2025-03-01T10:00:00.000Z',
  route: 'catalog-read',
  method: 'GET',
  path,
  headers: { accept: 'application/json', authorization: '[redacted]' },
  response: {
    upstream: 'monolith',
    status,
    headers: { 'content-type': 'application/json' },
    body: b64('{"id":1}'),
    length: 8,
  },
});

describe('readExchanges of a capture file', () => {
  it('reads each line as an exchange, skipping blank lines', async () => {
    const file = join(dir, 'capture.jsonl');
    const big = { ...line('/api/v1/products/2'), response: { ...line('').response, length: 9_000_000, sha256: 'ab' } };
    delete (big.response as { body?: string }).body;
    await writeFile(file, `${JSON.stringify(line('/api/v1/products/1'))}\n\n${JSON.stringify(big)}\r\n`);
    expect(await all(file)).toEqual([line('/api/v1/products/1'), big]);
    expect(await countExchanges(file)).toBe(2);
  });

  it('fails on a bad line naming the file and the line', async () => {
    const file = join(dir, 'bad.jsonl');
    const wrong = { ...line('/b'), response: { ...line('/b').response, status: 'ok' } };
    await writeFile(file, [line('/a'), wrong].map((l) => JSON.stringify(l)).join('\n'));
    const read = all(file);
    await expect(read).rejects.toMatchObject({ code: 'FICUS_ERR_CONFIG' });
    await expect(all(file)).rejects.toThrow(`${file}:2: not a ficus capture line nor a HAR 1.2 file (response.status:`);
    const broken = join(dir, 'broken.jsonl');
    await writeFile(broken, `${JSON.stringify(line('/a'))}\n${JSON.stringify(line('/b'))}\n{"v":1,`);
    await expect(all(broken)).rejects.toThrow(`${broken}:3: not a ficus capture line`);
  });

  it('fails naming a file that cannot be read', async () => {
    const missing = join(dir, 'missing.jsonl');
    await expect(all(missing)).rejects.toThrow(`${missing}: ENOENT`);
  });
});

describe('readExchanges of a HAR 1.2 file', () => {
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff]);
  const har = {
    log: {
      version: '1.2',
      creator: { name: 'WebInspector', version: '537.36' },
      pages: [],
      entries: [
        {
          startedDateTime: '2025-03-01T10:00:00.123Z',
          time: 41.2,
          request: {
            method: 'post',
            url: 'https://shop.example.com/api/v1/orders?dryRun=1&lang=en',
            httpVersion: 'http/2.0',
            headers: [
              { name: ':authority', value: 'shop.example.com' },
              { name: ':method', value: 'POST' },
              { name: ':path', value: '/api/v1/orders?dryRun=1&lang=en' },
              { name: 'Content-Type', value: 'application/json' },
              { name: 'Accept', value: 'application/json' },
              { name: 'Accept', value: 'text/plain' },
            ],
            queryString: [
              { name: 'dryRun', value: '1' },
              { name: 'lang', value: 'en' },
            ],
            cookies: [],
            headersSize: -1,
            bodySize: 24,
            postData: { mimeType: 'application/json', text: '{"productId":7,"qty":2}' },
          },
          response: {
            status: 201,
            statusText: '',
            httpVersion: 'http/2.0',
            headers: [
              { name: 'content-type', value: 'application/json; charset=utf-8' },
              { name: 'content-encoding', value: 'gzip' },
              { name: 'Cache-Control', value: 'no-store' },
            ],
            cookies: [],
            content: { size: 27, mimeType: 'application/json', text: '{"id":"o-1","status":"new"}' },
            redirectURL: '',
            headersSize: -1,
            bodySize: 48,
          },
          cache: {},
          timings: { send: 0.1, wait: 40, receive: 1.1 },
        },
        {
          startedDateTime: '2025-03-01T10:00:01.000Z',
          time: 3,
          request: {
            method: 'GET',
            url: 'https://shop.example.com/img/logo.png',
            httpVersion: 'http/2.0',
            headers: [{ name: ':authority', value: 'shop.example.com' }],
            queryString: [],
            cookies: [],
            headersSize: -1,
            bodySize: 0,
          },
          response: {
            status: 200,
            statusText: '',
            httpVersion: 'http/2.0',
            headers: [{ name: 'content-type', value: 'image/png' }],
            cookies: [],
            content: { size: png.length, mimeType: 'image/png', text: png.toString('base64'), encoding: 'base64' },
            redirectURL: '',
            headersSize: -1,
            bodySize: png.length,
          },
          cache: {},
          timings: { send: 0, wait: 2, receive: 1 },
        },
        {
          request: { method: 'GET', url: 'https://shop.example.com/api/v1/products', headers: [] },
          response: { status: 304, headers: [], content: { size: 1200 } },
        },
      ],
    },
  };

  it('converts entries: method, path with query, headers without pseudo-headers, decoded bodies', async () => {
    const file = join(dir, 'session.har');
    await writeFile(file, JSON.stringify(har, null, 2));
    const [order, logo, cached] = await all(file);
    expect(order).toEqual({
      v: 1,
      at: '2025-03-01T10:00:00.123Z',
      route: '',
      method: 'POST',
      path: '/api/v1/orders?dryRun=1&lang=en',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/plain' },
      body: b64('{"productId":7,"qty":2}'),
      response: {
        upstream: 'har',
        status: 201,
        // HAR holds the body decoded, so its content-encoding is gone.
        headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
        body: b64('{"id":"o-1","status":"new"}'),
        length: 27,
      },
    });
    expect(logo).toMatchObject({ method: 'GET', path: '/img/logo.png', headers: {} });
    expect(Buffer.from(logo!.response.body!, 'base64').equals(png)).toBe(true);
    expect(logo!.response.length).toBe(png.length);
    expect(logo!.body).toBeUndefined();
    // No content text: length from the size, no body.
    expect(cached!.response).toEqual({ upstream: 'har', status: 304, headers: {}, length: 1200 });
    expect(await countExchanges(file)).toBe(3);
  });

  it('fails on a HAR that does not fit the format, naming the file and the field', async () => {
    const file = join(dir, 'bad.har');
    await writeFile(file, JSON.stringify({ log: { entries: [{ request: { url: '/x' }, response: {} }] } }));
    await expect(all(file)).rejects.toThrow(`${file}: not a ficus capture line nor a HAR 1.2 file (log.entries.0.`);
  });
});
