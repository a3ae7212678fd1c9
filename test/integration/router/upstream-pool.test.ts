import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import { text } from 'node:stream/consumers';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { UpstreamResponse } from '../../../router/src/proxy/send.js';
import { undiciTransport } from '../../../router/src/proxy/undici-transport.js';
import { Upstream } from '../../../router/src/proxy/upstream.js';
import { upstreamSchema } from '../../../router/src/route-table/schema.js';
import { startEchoUpstream, type EchoUpstream } from '../../kit/upstreams.js';

let monolith: EchoUpstream;
beforeAll(async () => {
  monolith = await startEchoUpstream('monolith');
});
afterAll(() => monolith.stop());

// The undici transport only watches the client's response for its close.
const exchange = { req: {} as IncomingMessage, res: new EventEmitter() as ServerResponse };
const get = (upstream: Upstream) =>
  new Promise<UpstreamResponse>((resolve, reject) =>
    undiciTransport.send(
      upstream,
      { method: 'GET', path: '/late', headers: ['host', upstream.url.host], body: null },
      exchange,
      (error, response) => (error ? reject(error) : resolve(response!)),
    ),
  );

describe('an upstream replaced by a route-table reload', () => {
  it('still serves a request decided before the reload, after its idle pool was closed', async () => {
    const upstream = new Upstream('monolith', upstreamSchema.parse({ url: monolith.url }));
    upstream.retire(); // nothing in flight: the pool closes now
    expect(upstream.tryAcquire()).toBe(true);
    const response = await get(upstream);
    expect(response.statusCode).toBe(200);
    await text(response.body);
    upstream.release();
    upstream.close();
  });
});
