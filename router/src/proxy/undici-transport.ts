import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { upstreamErrorOf, type OutgoingRequest, type SendDone, type Transport } from './send.js';
import type { Upstream } from './upstream.js';

/**
 * Yields a streamed body only when undici asks for it, which it does once connected. undici
 * destroys a body it was given when the request fails, so a request body handed over directly
 * would be lost after a refused connection; this way it is still unread and can go elsewhere.
 */
async function* whenConnected(body: Readable): AsyncGenerator<Buffer> {
  for await (const chunk of body) yield chunk as Buffer;
}

/**
 * undici takes any EventEmitter as a request's abort signal (it listens for 'abort'): the
 * client's own response is that signal, and says 'abort' when the client leaves before the
 * answer. Cheaper on this hot path than an AbortController per request.
 */
function clientLeft(this: ServerResponse): void {
  this.emit('abort');
}

/**
 * Sends one request through the upstream's undici pool (connect, header and body-idle
 * timeouts are the pool's) and calls back once the response headers arrive, or with an
 * UpstreamError whose `failure` says whether the upstream can have received the request:
 * `connect` (never connected, so never received) or `timeout`/`reset` (it may have).
 * Callback style, not a promise: this is the hot path.
 */
function sendRequest(upstream: Upstream, outgoing: OutgoingRequest, res: ServerResponse, done: SendDone): void {
  const { body } = outgoing;
  // A client that leaves before the answer frees its slot at once, not at the response timeout.
  res.on('close', clientLeft);
  upstream.pool.request(
    {
      signal: res,
      method: outgoing.method as Dispatcher.HttpMethod,
      path: outgoing.path,
      headers: outgoing.headers,
      body: body === null || Buffer.isBuffer(body) ? body : Readable.from(whenConnected(body), { objectMode: false }),
    },
    (error, response) => {
      res.off('close', clientLeft);
      if (!error) return done(undefined, response as Dispatcher.ResponseData & { statusText?: string });
      done(upstreamErrorOf(upstream, body, error as NodeJS.ErrnoException));
    },
  );
}

/** The standalone router's transport: one undici pool per upstream. */
export const undiciTransport: Transport = {
  send: (upstream, outgoing, { res }, done) => sendRequest(upstream, outgoing, res, done),
  lazyBody: true,
  keepAppHeaders: false,
};
