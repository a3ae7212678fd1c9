import type { IncomingMessage, ServerResponse } from 'node:http';
import { BrokenCircuitError, ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import { FicusError, writeProblem } from '../../../platform/src/index.js';
import type { Decision } from '../decide.js';
import type { ServedEvent } from '../served-event.js';
import { clientResponseHeaders, upstreamRequestHeaders, type ForwardContext } from './headers.js';
import { sendRequest, UpstreamError, type OutgoingRequest } from './send.js';
import { failureResponse, neverReceived, type UpstreamFailure } from './status-code.js';
import type { Upstream } from './upstream.js';

const idempotent = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

export interface ForwardOptions {
  /** Add `x-ficus-route` and `x-ficus-upstream` to responses. */
  exposeHeaders: boolean;
  /** Bodies up to this size are read before sending, so they can be replayed on the monolith. */
  replayBodyLimit: number;
  onRetry(upstream: string): void;
  onServed(event: ServedEvent): void;
}

export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  /** Normalized path plus the raw query. */
  target: string;
  requestId: string;
  traceparent: string;
  started: number;
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** Reads a small body in full (so it can be sent twice); undefined when it turns out larger than `limit`. */
async function readSmallBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length']);
  if (!(declared <= limit)) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

const retryPolicies = new WeakMap<Upstream, ReturnType<typeof retry>>();

/** Jittered exponential retries of connection failures only: the upstream never saw those requests. */
function retryPolicy(upstream: Upstream, onRetry: (upstream: string) => void) {
  let policy = retryPolicies.get(upstream);
  if (!policy) {
    policy = retry(handleWhen((error) => error instanceof UpstreamError && error.failure === 'connect'), {
      // The first try happens outside the policy and execute() tries once at once: the first
      // retry is immediate, the rest back off with jitter.
      maxAttempts: Math.max(0, upstream.spec.retries - 1),
      backoff: new ExponentialBackoff({ initialDelay: 20, maxDelay: 400 }),
    });
    policy.onRetry(() => onRetry(upstream.name));
    retryPolicies.set(upstream, policy);
  }
  return policy;
}

/**
 * Carries out a decision: sends to the primary upstream (a service goes through its bulkhead,
 * circuit breaker and retries), streams the answer back, and hands the request to the
 * fallback (the monolith) when the service fails and the request can safely go there:
 * always when the service never received it, and for idempotent requests whose body could be
 * replayed also after a timeout, a reset or a 5xx.
 */
export async function forward(exchange: Exchange, decision: Decision, forwardContext: ForwardContext, options: ForwardOptions): Promise<void> {
  const { req, res } = exchange;
  const method = req.method ?? 'GET';
  const canRetry = idempotent.has(method);
  let body: Buffer | IncomingMessage | null = null;
  if (hasBody(req)) {
    body = req;
    if (decision.fallback && canRetry) body = (await readSmallBody(req, options.replayBodyLimit)) ?? req;
  }
  const outgoing: OutgoingRequest = { method, path: exchange.target, headers: upstreamRequestHeaders(req.rawHeaders, forwardContext), body };
  const replayable = body === null || Buffer.isBuffer(body);

  // Upstreams whose bulkhead slot this request holds until the client's response closes.
  const held: Upstream[] = [];
  const send = async (upstream: Upstream): Promise<IncomingMessage> => {
    try {
      return await sendRequest(upstream, outgoing);
    } catch (error) {
      // The happy path skips the retry policy; only a connection that never carried the request is retried.
      if (!canRetry || upstream.spec.retries === 0 || !(error instanceof UpstreamError) || error.failure !== 'connect') throw error;
      options.onRetry(upstream.name);
      return retryPolicy(upstream, options.onRetry).execute(() => sendRequest(upstream, outgoing));
    }
  };
  const attempt = async (upstream: Upstream, guarded: boolean): Promise<IncomingMessage> => {
    if (!upstream.tryAcquire()) throw new UpstreamError('saturated', upstream.name, `${upstream.name} has ${upstream.spec.maxConcurrent} requests in flight`);
    try {
      const response = guarded ? await upstream.breaker.execute(() => send(upstream)) : await send(upstream);
      held.push(upstream);
      return response;
    } catch (error) {
      upstream.release();
      if (error instanceof BrokenCircuitError) throw new UpstreamError('circuit-open', upstream.name, `the circuit of ${upstream.name} is open`);
      throw error;
    }
  };

  let served = decision.primary;
  let fallback: ServedEvent['fallback'];
  let response: IncomingMessage | undefined;
  let failure: UpstreamError | undefined;
  try {
    response = await attempt(decision.primary, decision.fallback !== undefined);
    if (decision.fallback && response.statusCode! >= 500 && canRetry && replayable) {
      response.resume();
      held.pop()?.release();
      failure = new UpstreamError('status', served.name, `${served.name} answered ${response.statusCode}`);
      response = undefined;
    }
  } catch (error) {
    if (!(error instanceof UpstreamError)) throw error;
    failure = error;
  }

  if (failure && decision.fallback && (neverReceived(failure.failure) || (canRetry && replayable)) && !res.destroyed) {
    fallback = { from: served.name, reason: failure.failure };
    served = decision.fallback;
    failure = undefined;
    try {
      response = await attempt(served, false);
    } catch (error) {
      if (!(error instanceof UpstreamError)) throw error;
      failure = error;
    }
  }

  const finish = (status: number) =>
    options.onServed({
      requestId: exchange.requestId,
      method,
      path: exchange.target,
      routeId: decision.routeId,
      stage: decision.stage,
      upstream: response ? served.name : 'router',
      status,
      durationMs: performance.now() - exchange.started,
      ...(fallback ? { fallback } : {}),
    });

  if (!response) {
    const { status, code } = failureResponse(failure!.failure);
    const detail = `${failure!.message}; ${fallback ? 'the monolith failed too' : 'try again later'}`;
    if (res.headersSent) res.destroy();
    else writeProblem(res, new FicusError(code, detail, { status }), { instance: exchange.target, requestId: exchange.requestId }, status === 503 ? { 'retry-after': '1' } : {});
    finish(status);
    return;
  }

  const headers = clientResponseHeaders(response.rawHeaders);
  headers.push('x-request-id', exchange.requestId);
  if (options.exposeHeaders) headers.push('x-ficus-route', decision.routeId, 'x-ficus-upstream', served.name);
  if (res.destroyed) {
    response.destroy();
    for (const upstream of held) upstream.release();
    finish(499);
    return;
  }
  res.writeHead(response.statusCode!, response.statusMessage, headers);
  response.pipe(res);
  const upstreamResponse = response;
  res.once('close', () => {
    for (const upstream of held) upstream.release();
    if (!res.writableFinished) upstreamResponse.destroy();
    finish(res.writableFinished ? upstreamResponse.statusCode! : 499);
  });
  upstreamResponse.once('error', () => res.destroy());
}

export type { UpstreamFailure };
