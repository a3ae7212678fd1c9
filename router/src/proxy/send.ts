import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { HeaderList } from './headers.js';
import type { UpstreamFailure } from './status-code.js';
import type { Upstream } from './upstream.js';

/** Methods whose repetition has the effect of one request (RFC 9110 §9.2.2). */
export const idempotentMethods: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

export class UpstreamError extends Error {
  readonly failure: UpstreamFailure;
  readonly upstream: string;
  constructor(failure: UpstreamFailure, upstream: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UpstreamError';
    this.failure = failure;
    this.upstream = upstream;
  }
}

export interface OutgoingRequest {
  method: string;
  /** Normalized path plus query. */
  path: string;
  /** Including Host (the upstream's), first. */
  headers: HeaderList;
  /** null: no body; Buffer: a body read in full (replayable); Readable: streamed once. */
  body: Buffer | Readable | null;
}

/** An upstream's answer once its headers arrived; the body streams on. */
export type UpstreamResponse = Dispatcher.ResponseData;

/**
 * Yields a streamed body only when undici asks for it, which it does once connected. undici
 * destroys a body it was given when the request fails, so a request body handed over directly
 * would be lost after a refused connection; this way it is still unread and can go elsewhere.
 */
async function* whenConnected(body: Readable): AsyncGenerator<Buffer> {
  for await (const chunk of body) yield chunk as Buffer;
}

/** What an undici failure means for the request: could the upstream have received it? */
export function failureOf(error: NodeJS.ErrnoException): UpstreamFailure {
  switch (error.code) {
    // Only ever raised while connecting (also as an AggregateError when every address of a
    // name like localhost refused).
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'UND_ERR_CONNECT_TIMEOUT':
    // A pool closed by a reload or shutdown: nothing was sent.
    case 'UND_ERR_DESTROYED':
    case 'UND_ERR_CLOSED':
      return 'connect';
    case 'UND_ERR_HEADERS_TIMEOUT':
      return 'timeout';
  }
  // Unreachable or timed out while connecting. The same codes on an open socket (a read or a
  // write) mean the request may have arrived.
  return error.syscall === 'connect' || error.syscall === 'getaddrinfo' ? 'connect' : 'reset';
}

/** Whether the client hung up while its request body was still streaming upstream. */
function clientAborted(body: OutgoingRequest['body']): boolean {
  return body !== null && !Buffer.isBuffer(body) && body.destroyed && 'complete' in body && !body.complete;
}

function messageFor(failure: UpstreamFailure, upstream: Upstream, error: NodeJS.ErrnoException): string {
  if (failure === 'aborted') return `the client closed its connection while its request body was being sent to ${upstream.name}`;
  if (error.code === 'UND_ERR_CONNECT_TIMEOUT') return `could not connect to ${upstream.name} within ${upstream.spec.connectTimeoutMs} ms`;
  if (failure === 'connect') return `could not connect to ${upstream.name}: ${error.code}`;
  if (failure === 'timeout') return `${upstream.name} sent no response within ${upstream.spec.responseTimeoutMs} ms`;
  return `${upstream.name}: ${error.code ?? error.message}`;
}

/**
 * Sends one request through the upstream's undici pool (connect, header and body-idle
 * timeouts are the pool's) and calls back once the response headers arrive, or with an
 * UpstreamError whose `failure` says whether the upstream can have received the request:
 * `connect` (never connected, so never received) or `timeout`/`reset` (it may have).
 * Callback style, not a promise: this is the hot path.
 */
export function sendRequest(upstream: Upstream, outgoing: OutgoingRequest, done: (error: UpstreamError | undefined, response?: UpstreamResponse) => void): void {
  const { body } = outgoing;
  upstream.pool.request(
    {
      method: outgoing.method as Dispatcher.HttpMethod,
      path: outgoing.path,
      headers: outgoing.headers,
      body: body === null || Buffer.isBuffer(body) ? body : Readable.from(whenConnected(body), { objectMode: false }),
    },
    (error, response) => {
      if (!error) return done(undefined, response);
      const failure = clientAborted(body) ? 'aborted' : failureOf(error as NodeJS.ErrnoException);
      done(new UpstreamError(failure, upstream.name, messageFor(failure, upstream, error as NodeJS.ErrnoException), { cause: error }));
    },
  );
}
