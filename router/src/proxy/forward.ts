import type { IncomingMessage, ServerResponse } from 'node:http';
import { BrokenCircuitError, ExponentialBackoff, handleWhen, retry, type RetryPolicy } from 'cockatiel';
import { FicusError, writeProblem } from '../../../platform/src/index.js';
import type { Decision } from '../decide.js';
import type { ServedEvent } from '../served-event.js';
import { clientResponseHeaders, setHost, upstreamRequestHeaders } from './headers.js';
import { idempotentMethods, sendRequest, UpstreamError, type OutgoingRequest, type UpstreamResponse } from './send.js';
import { failureResponse, neverReceived } from './status-code.js';
import type { Upstream } from './upstream.js';

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

/**
 * Reads a body of declared length up to `limit` in full, so it can be sent twice; undefined
 * (nothing read) for larger or chunked bodies, which are streamed once instead.
 */
async function readSmallBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length']);
  if (!(declared <= limit) || req.headers['transfer-encoding'] !== undefined) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

const retryPolicies = new WeakMap<Upstream, RetryPolicy>();

/**
 * Jittered exponential retries of connection failures only: the upstream never saw those
 * requests. The first try happens outside the policy (the happy path pays nothing), and
 * execute() tries once at once: the first retry is immediate, later ones back off.
 */
function retryPolicy(upstream: Upstream, onRetry: (upstream: string) => void): RetryPolicy {
  let policy = retryPolicies.get(upstream);
  if (!policy) {
    policy = retry(handleWhen((error) => error instanceof UpstreamError && error.failure === 'connect'), {
      maxAttempts: Math.max(0, upstream.spec.retries - 1),
      backoff: new ExponentialBackoff({ initialDelay: 20, maxDelay: 400 }),
    });
    policy.onRetry(() => onRetry(upstream.name));
    retryPolicies.set(upstream, policy);
  }
  return policy;
}

type Done = (error: UpstreamError | undefined, response?: UpstreamResponse) => void;

/** Drops a body nobody will read. undici reports the abort as an error: expected here, so handled. */
function discard(body: UpstreamResponse['body']): void {
  body.on('error', () => undefined);
  body.destroy();
}

/**
 * One request on its way through the proxy. A class rather than closures: this is the hot
 * path, and per-request closures cost allocations.
 */
class Forwarding {
  readonly exchange: Exchange;
  readonly decision: Decision;
  readonly options: ForwardOptions;
  readonly outgoing: OutgoingRequest;
  readonly method: string;
  readonly canRetry: boolean;
  readonly replayable: boolean;
  fallback: ServedEvent['fallback'];

  constructor(exchange: Exchange, decision: Decision, options: ForwardOptions, body: Buffer | IncomingMessage | null) {
    this.exchange = exchange;
    this.decision = decision;
    this.options = options;
    const { req } = exchange;
    this.method = req.method ?? 'GET';
    this.canRetry = idempotentMethods.has(this.method);
    this.replayable = body === null || Buffer.isBuffer(body);
    const socket = req.socket as IncomingMessage['socket'] & { encrypted?: boolean };
    const headers = upstreamRequestHeaders(req.headers, decision.primary.url.host, {
      requestId: exchange.requestId,
      traceparent: exchange.traceparent,
      clientAddress: socket.remoteAddress ?? '',
      proto: socket.encrypted ? 'https' : 'http',
      host: req.headers.host,
    });
    this.outgoing = { method: this.method, path: exchange.target, headers, body };
  }

  /** Sends, retrying a failed connection for idempotent requests. */
  send(upstream: Upstream, done: Done): void {
    sendRequest(upstream, this.outgoing, (error, response) => {
      if (!error) return done(undefined, response);
      if (!this.canRetry || upstream.spec.retries === 0 || error.failure !== 'connect') return done(error);
      this.options.onRetry(upstream.name);
      retryPolicy(upstream, this.options.onRetry)
        .execute(() => new Promise<UpstreamResponse>((resolve, reject) => sendRequest(upstream, this.outgoing, (e, r) => (e ? reject(e) : resolve(r!)))))
        .then((r) => done(undefined, r), (e: unknown) => done(e as UpstreamError));
    });
  }

  start(): void {
    const { decision } = this;
    const guarded = decision.route !== undefined && decision.primary.name === decision.route.service;
    if (guarded) this.viaService(decision.primary);
    else this.direct(decision.primary);
  }

  /** The monolith (or a fallback): bulkhead and retries, no breaker. */
  direct(upstream: Upstream): void {
    if (!upstream.tryAcquire()) return this.refuse(new UpstreamError('saturated', upstream.name, `${upstream.name} has ${upstream.spec.maxConcurrent} requests in flight`));
    this.send(upstream, (error, response) => {
      if (error) {
        upstream.release();
        return this.refuse(error);
      }
      this.deliver(upstream, response!);
    });
  }

  /** A service: bulkhead, circuit breaker, retries; its failures may go to the fallback. */
  viaService(service: Upstream): void {
    if (!service.tryAcquire()) return this.serviceFailed(new UpstreamError('saturated', service.name, `${service.name} has ${service.spec.maxConcurrent} requests in flight`));
    service.breaker
      .execute(() => new Promise<UpstreamResponse>((resolve, reject) => this.send(service, (e, r) => (e ? reject(e) : resolve(r!)))))
      .then(
        (response) => {
          if (this.decision.fallback && response.statusCode >= 500 && this.canRetry && this.replayable) {
            discard(response.body);
            service.release();
            return this.serviceFailed(new UpstreamError('status', service.name, `${service.name} answered ${response.statusCode}`));
          }
          this.deliver(service, response);
        },
        (error: unknown) => {
          service.release();
          if (error instanceof BrokenCircuitError) return this.serviceFailed(new UpstreamError('circuit-open', service.name, `the circuit of ${service.name} is open`));
          if (error instanceof UpstreamError) return this.serviceFailed(error);
          this.crash(error);
        },
      );
  }

  /**
   * The monolith takes over when the service certainly never received the request, or when
   * the request is idempotent and its body can be sent again.
   */
  serviceFailed(failure: UpstreamError): void {
    const { fallback } = this.decision;
    if (fallback && (neverReceived(failure.failure) || (this.canRetry && this.replayable)) && !this.exchange.res.destroyed) {
      this.fallback = { from: failure.upstream, reason: failure.failure };
      setHost(this.outgoing.headers, fallback.url.host);
      return this.direct(fallback);
    }
    this.refuse(failure);
  }

  deliver(upstream: Upstream, response: UpstreamResponse): void {
    const { req, res, requestId } = this.exchange;
    const { body } = response;
    // The client may be gone: its response destroyed, or (for a response queued behind another
    // on a pipelining connection) only its socket.
    if (res.destroyed || req.socket.destroyed) {
      discard(body);
      upstream.release();
      return this.finish('router', 499);
    }
    const headers = clientResponseHeaders(response.headers);
    headers.push('x-request-id', requestId);
    if (this.options.exposeHeaders) headers.push('x-ficus-route', this.decision.routeId, 'x-ficus-upstream', upstream.name);
    try {
      res.writeHead(response.statusCode, response.statusText || undefined, headers);
    } catch (error) {
      // An answer undici parsed but node's server will not write (a status below 100, a
      // control character in the reason phrase): the upstream is at fault, the router lives on.
      discard(body);
      upstream.release();
      return this.refuse(new UpstreamError('reset', upstream.name, `${upstream.name} sent a response that cannot be forwarded (${(error as Error).message})`));
    }
    // A body that breaks off is the upstream's failure (502), or 504 when it paused longer than
    // responseTimeoutMs (the pool's body timeout); the abort our own destroy() causes is not.
    let failedWith: number | undefined;
    body.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'UND_ERR_ABORTED') failedWith = error.code === 'UND_ERR_BODY_TIMEOUT' ? 504 : 502;
      res.destroy();
    });
    body.pipe(res);
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      upstream.release();
      if (!res.writableFinished) body.destroy();
      this.finish(upstream.name, res.writableFinished ? response.statusCode : (failedWith ?? 499));
    };
    res.once('close', settle);
    // When a pipelining client hangs up, some Node versions (20 does) emit no 'close' for a
    // response queued behind another; its request's 'close' comes on every version.
    req.once('close', () => {
      if (req.socket.destroyed && !res.writableFinished) settle();
    });
  }

  /** The router answers itself: the upstream failure mapped to a status in one place. */
  refuse(failure: UpstreamError): void {
    const { res, target, requestId } = this.exchange;
    const { status, code } = failureResponse(failure.failure);
    if (res.headersSent || res.destroyed) res.destroy();
    else {
      const detail = `${failure.message}; ${this.fallback ? 'the monolith failed too' : 'try again later'}`;
      writeProblem(res, new FicusError(code, detail, { status }), { instance: target, requestId }, status === 503 ? { 'retry-after': '1' } : {});
    }
    this.finish('router', status);
  }

  crash(error: unknown): void {
    const { res, requestId } = this.exchange;
    if (res.headersSent) res.destroy();
    else writeProblem(res, new FicusError('FICUS_ERR_INTERNAL', 'the router failed to forward this request', { cause: error }), { requestId });
    this.finish('router', 500);
  }

  finish(upstream: string, status: number): void {
    const { exchange, decision } = this;
    const event: ServedEvent = {
      requestId: exchange.requestId,
      method: this.method,
      path: exchange.target,
      routeId: decision.routeId,
      stage: decision.stage,
      upstream,
      status,
      durationMs: performance.now() - exchange.started,
    };
    if (this.fallback) event.fallback = this.fallback;
    this.options.onServed(event);
  }
}

/**
 * Carries out a decision: sends to the primary upstream (a service goes through its bulkhead,
 * circuit breaker and retries), streams the answer back, and hands the request to the
 * fallback (the monolith) when the service fails and the request can safely go there:
 * always when the service never received it, and for idempotent requests whose body could be
 * replayed also after a timeout, a reset or a 5xx.
 */
export function forward(exchange: Exchange, decision: Decision, options: ForwardOptions): void {
  const { req } = exchange;
  if (!hasBody(req)) return new Forwarding(exchange, decision, options, null).start();
  if (!decision.fallback || !idempotentMethods.has(req.method ?? 'GET')) return new Forwarding(exchange, decision, options, req).start();
  readSmallBody(req, options.replayBodyLimit).then(
    (buffer) => new Forwarding(exchange, decision, options, buffer ?? req).start(),
    (error: unknown) => new Forwarding(exchange, decision, options, null).crash(error),
  );
}
