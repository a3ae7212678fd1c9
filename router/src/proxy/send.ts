import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { sendFailureOf } from '../../../platform/src/index.js';
import { timedOut } from './client-deadlines.js';
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
export interface UpstreamResponse {
  statusCode: number;
  statusText?: string | undefined;
  /** Parsed, lower-cased names; repeated fields as arrays. */
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
}

export type SendDone = (error: UpstreamError | undefined, response?: UpstreamResponse) => void;

/**
 * What sends a request to an upstream for the routing core: undici pools in the standalone
 * router, http-proxy-middleware in the express form. Everything around it (bulkhead, breaker,
 * retries, fallback, the response to the client, served events) is the core's, the same for both.
 */
export interface Transport {
  /**
   * Sends one request and calls back once the response headers arrived, or with an
   * UpstreamError whose `failure` says whether the upstream can have received it.
   */
  send(
    upstream: Upstream,
    outgoing: OutgoingRequest,
    exchange: { req: IncomingMessage; res: ServerResponse },
    done: SendDone,
  ): void;
  /**
   * Whether the client's response may already carry headers set by an app before the router
   * (express middleware); they are then merged with the upstream's instead of replaced.
   */
  readonly keepAppHeaders: boolean;
  /** Whether a streamed request body is read only once connected (so a refused connection leaves it unread). */
  readonly lazyBody: boolean;
}

/** The code of the timeout error the http-proxy-middleware transport raises (undici has its own). */
export const upstreamTimeoutCode = 'FICUS_UPSTREAM_TIMEOUT';

/** What an undici (or node:http) failure means for the request: could the upstream have received it? */
function failureOf(error: NodeJS.ErrnoException): UpstreamFailure {
  return sendFailureOf(error, [upstreamTimeoutCode]);
}

/** Whether the client hung up while its request body was still streaming upstream. */
function clientAborted(body: OutgoingRequest['body']): boolean {
  return body !== null && !Buffer.isBuffer(body) && body.destroyed && 'complete' in body && !body.complete;
}

function messageFor(failure: UpstreamFailure, upstream: Upstream, error: NodeJS.ErrnoException): string {
  if (failure === 'aborted')
    return `the client closed its connection while its request body was being sent to ${upstream.name}`;
  if (error.code === 'UND_ERR_CONNECT_TIMEOUT')
    return `could not connect to ${upstream.name} within ${upstream.spec.connectTimeoutMs} ms`;
  if (failure === 'connect') return `could not connect to ${upstream.name}: ${error.code}`;
  if (failure === 'timeout') return `${upstream.name} sent no response within ${upstream.spec.responseTimeoutMs} ms`;
  return `${upstream.name}: ${error.code ?? error.message}`;
}

/** A transport's failure as the core reads it: what happened, and whether the upstream can have received the request. */
export function upstreamErrorOf(
  upstream: Upstream,
  body: OutgoingRequest['body'],
  error: NodeJS.ErrnoException,
): UpstreamError {
  const streamed = body !== null && !Buffer.isBuffer(body);
  const failure = streamed && timedOut(body) ? 'client-timeout' : clientAborted(body) ? 'aborted' : failureOf(error);
  return new UpstreamError(failure, upstream.name, messageFor(failure, upstream, error), { cause: error });
}
