import { request as httpRequest, type IncomingMessage, type ClientRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
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

/**
 * Sends one request and calls back once the response headers arrive, or with an
 * UpstreamError whose `failure` says whether the upstream can have received the request:
 * `connect` (never connected, so never received) or `timeout`/`reset` (it may have).
 * A streamed body is piped only once connected, so after a `connect` failure it is unread
 * and can go to another upstream. Callback style, not a promise: this is the hot path.
 */
export function sendRequest(upstream: Upstream, outgoing: OutgoingRequest, done: (error: UpstreamError | undefined, response?: IncomingMessage) => void): void {
  new UpstreamCall(upstream, outgoing, done).start();
}

/** One attempt; methods, not closures, because this runs for every proxied request. */
class UpstreamCall {
  readonly upstream: Upstream;
  readonly outgoing: OutgoingRequest;
  readonly done: (error: UpstreamError | undefined, response?: IncomingMessage) => void;
  req!: ClientRequest;
  connected = false;
  settled = false;
  timer: NodeJS.Timeout | undefined;

  constructor(upstream: Upstream, outgoing: OutgoingRequest, done: (error: UpstreamError | undefined, response?: IncomingMessage) => void) {
    this.upstream = upstream;
    this.outgoing = outgoing;
    this.done = done;
  }

  start(): void {
    const { url } = this.upstream;
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send({
      agent: this.upstream.agent,
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port,
      method: this.outgoing.method,
      path: this.outgoing.path,
      headers: this.outgoing.headers,
    });
    this.req = req;
    req.once('socket', this.onSocket.bind(this));
    req.once('response', this.onResponse.bind(this));
    req.once('error', this.onError.bind(this));
    // Bodiless and buffered requests go out at once (headers and body in one write).
    if (this.outgoing.body === null) req.end();
    else if (Buffer.isBuffer(this.outgoing.body)) req.end(this.outgoing.body);
  }

  onSocket(socket: Socket): void {
    if (!socket.connecting) return this.onConnected();
    this.timer = setTimeout(this.onConnectTimeout.bind(this), this.upstream.spec.connectTimeoutMs);
    socket.once('connect', this.onConnected.bind(this));
  }

  onConnected(): void {
    clearTimeout(this.timer);
    this.connected = true;
    this.timer = setTimeout(this.onResponseTimeout.bind(this), this.upstream.spec.responseTimeoutMs);
    const { body } = this.outgoing;
    // A streamed body is piped only once connected, so after a failed connect it is still unread.
    if (body !== null && !Buffer.isBuffer(body)) body.pipe(this.req);
  }

  onConnectTimeout(): void {
    this.fail('connect', `could not connect to ${this.upstream.name} within ${this.upstream.spec.connectTimeoutMs} ms`);
  }

  onResponseTimeout(): void {
    this.fail('timeout', `${this.upstream.name} sent no response within ${this.upstream.spec.responseTimeoutMs} ms`);
  }

  onResponse(response: IncomingMessage): void {
    if (this.settled) return void response.destroy();
    this.settled = true;
    clearTimeout(this.timer);
    this.done(undefined, response);
  }

  onError(error: NodeJS.ErrnoException): void {
    const { outgoing } = this;
    // A pooled keep-alive socket the upstream had closed: usually the request never arrived,
    // but the upstream may also have died while handling it. Only an idempotent request may
    // be treated as never received, so a POST is never run twice.
    const stale = this.req.reusedSocket && error.code === 'ECONNRESET' && idempotentMethods.has(outgoing.method) && (outgoing.body === null || Buffer.isBuffer(outgoing.body));
    this.fail(!this.connected || stale ? 'connect' : 'reset', `${this.upstream.name}: ${error.code ?? error.message}`, error);
  }

  fail(failure: UpstreamFailure, message: string, cause?: unknown): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.req.destroy();
    this.done(new UpstreamError(failure, this.upstream.name, message, { cause }));
  }
}
