import { request as httpRequest, type IncomingMessage, type ClientRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import type { HeaderBag } from './headers.js';
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
  /** Including Host (the upstream's). */
  headers: HeaderBag;
  /** null: no body; Buffer: a body read in full (replayable); Readable: streamed once. */
  body: Buffer | Readable | null;
}

/**
 * Sends one request and calls back once the response headers arrive, or with an
 * UpstreamError whose `failure` says whether the upstream can have received the request:
 * `connect` (never connected, so never received) or `timeout`/`reset` (it may have).
 * A streamed body is piped only once connected, so after a `connect` failure it is unread
 * and can go to another upstream. Callback style, not a promise: this is the hot path.
 */
export function sendRequest(upstream: Upstream, outgoing: OutgoingRequest, done: (error: UpstreamError | undefined, response?: IncomingMessage) => void): void {
  const { url, spec } = upstream;
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const req: ClientRequest = send({
    agent: upstream.agent,
    protocol: url.protocol,
    hostname: url.hostname,
    port: url.port,
    method: outgoing.method,
    path: outgoing.path,
    headers: outgoing.headers,
  });
  let connected = false;
  let settled = false;
  let timer: NodeJS.Timeout | undefined;
  const fail = (failure: UpstreamFailure, message: string, cause?: unknown) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    req.destroy();
    done(new UpstreamError(failure, upstream.name, message, { cause }));
  };
  const onConnected = () => {
    connected = true;
    timer = setTimeout(() => fail('timeout', `${upstream.name} sent no response within ${spec.responseTimeoutMs} ms`), spec.responseTimeoutMs);
    const { body } = outgoing;
    // A streamed body is piped only once connected, so after a failed connect it is still unread.
    if (body !== null && !Buffer.isBuffer(body)) body.pipe(req);
  };
  req.once('socket', (socket) => {
    if (!socket.connecting) return onConnected();
    timer = setTimeout(() => fail('connect', `could not connect to ${upstream.name} within ${spec.connectTimeoutMs} ms`), spec.connectTimeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      onConnected();
    });
  });
  // Bodiless and buffered requests go out at once (headers and body in one write).
  if (outgoing.body === null) req.end();
  else if (Buffer.isBuffer(outgoing.body)) req.end(outgoing.body);
  req.once('response', (response) => {
    if (settled) return void response.destroy();
    settled = true;
    clearTimeout(timer);
    done(undefined, response);
  });
  req.once('error', (error: NodeJS.ErrnoException) => {
    // A pooled keep-alive socket the upstream had closed: usually the request never arrived,
    // but the upstream may also have died while handling it. Only an idempotent request may
    // be treated as never received, so a POST is never run twice.
    const stale = req.reusedSocket && error.code === 'ECONNRESET' && idempotentMethods.has(outgoing.method) && (outgoing.body === null || Buffer.isBuffer(outgoing.body));
    fail(!connected || stale ? 'connect' : 'reset', `${upstream.name}: ${error.code ?? error.message}`, error);
  });
}
