import type { IncomingMessage, ServerResponse } from 'node:http';
import { BrokenCircuitError } from 'cockatiel';
import { FicusError, writeProblem } from '../../../platform/src/index.js';
import type { Decision } from '../decide.js';
import type { ServedEvent } from '../served-event.js';
import { BoundedCopy } from '../shadow/bounded-copy.js';
import type { ShadowTap } from '../shadow/mirror.js';
import { pipeWithDeadline, timedOut, type ClientDeadline } from './client-deadlines.js';
import { clientResponseHeaders, setHeaderList, setHost, upstreamRequestHeaders, type HeaderList } from './headers.js';
import {
  idempotentMethods,
  UpstreamError,
  type OutgoingRequest,
  type SendDone,
  type Transport,
  type UpstreamResponse,
} from './send.js';
import { failureResponse, mayFallBack, type BodyKind } from './status-code.js';
import type { Upstream } from './upstream.js';

export interface ForwardOptions {
  transport: Transport;
  /** Add `x-ficus-route`, `x-ficus-upstream` (and `x-ficus-fallback`) to responses. */
  exposeHeaders: boolean;
  /** Longest a response waits for the client to take more of it. */
  sendTimeoutMs: number;
  onRetry(upstream: string): void;
  onClientTimeout(deadline: ClientDeadline): void;
  onServed(event: ServedEvent): void;
  /** Shadow traffic: keeps a bounded copy of sampled responses and mirrors them once served. */
  shadow?: ShadowTap | undefined;
}

export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  /** Normalized path plus the raw query. */
  target: string;
  /** The normalized path's segments, for matching. */
  targetSegments: readonly string[];
  requestId: string;
  traceparent: string;
  started: number;
}

/** Drops a body nobody will read. undici reports the abort as an error: expected here, so handled. */
function discard(body: UpstreamResponse['body']): void {
  body.on('error', () => undefined);
  body.destroy();
}

/**
 * Writes the status line and headers: as a flat list straight to node (the hot path), or, where
 * the response may already carry an app's headers (an express gateway's CORS, say), merged into them.
 */
function writeHead(
  res: ServerResponse,
  response: UpstreamResponse,
  headers: HeaderList,
  keepAppHeaders: boolean,
): void {
  if (!keepAppHeaders) return void res.writeHead(response.statusCode, response.statusText || undefined, headers);
  setHeaderList(res, headers);
  res.writeHead(response.statusCode, response.statusText || undefined);
}

function saturated(upstream: Upstream): UpstreamError {
  return new UpstreamError(
    'saturated',
    upstream.name,
    `${upstream.name} has ${upstream.spec.maxConcurrent} requests in flight`,
  );
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
  readonly kind: BodyKind;
  fallback: ServedEvent['fallback'];

  constructor(exchange: Exchange, decision: Decision, options: ForwardOptions, body: Buffer | IncomingMessage | null) {
    this.exchange = exchange;
    this.decision = decision;
    this.options = options;
    const { req } = exchange;
    this.method = req.method ?? 'GET';
    this.kind = {
      idempotent: idempotentMethods.has(this.method),
      body: body === null ? 'none' : Buffer.isBuffer(body) ? 'buffered' : 'streamed',
      lazyBody: options.transport.lazyBody,
    };
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
  send(upstream: Upstream, done: SendDone): void {
    const { transport } = this.options;
    transport.send(upstream, this.outgoing, this.exchange, (error, response) => {
      if (!error) return done(undefined, response);
      // Only what can be sent again: a streamed body the transport already started to read cannot.
      const resendable = this.kind.body !== 'streamed' || this.kind.lazyBody;
      if (!this.kind.idempotent || !resendable || upstream.spec.retries === 0 || error.failure !== 'connect')
        return done(error);
      this.options.onRetry(upstream.name);
      upstream.retry
        .execute(
          () =>
            new Promise<UpstreamResponse>((resolve, reject) =>
              transport.send(upstream, this.outgoing, this.exchange, (e, r) => (e ? reject(e) : resolve(r!))),
            ),
        )
        .then(
          (r) => done(undefined, r),
          (e: unknown) => done(e as UpstreamError),
        );
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
    if (!upstream.tryAcquire()) return this.refuse(saturated(upstream));
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
    // While the breaker's trial request is out, the others do not wait for it.
    if (service.probing)
      return this.serviceFailed(
        new UpstreamError(
          'circuit-open',
          service.name,
          `the circuit of ${service.name} is half-open (a trial request is in flight)`,
        ),
      );
    if (!service.tryAcquire()) return this.serviceFailed(saturated(service));
    service.breaker
      .execute(
        () =>
          new Promise<UpstreamResponse>((resolve, reject) =>
            this.send(service, (e, r) => (e ? reject(e) : resolve(r!))),
          ),
      )
      .then(
        (response) => {
          if (this.decision.fallback && response.statusCode >= 500 && mayFallBack('status', this.kind)) {
            discard(response.body);
            service.release();
            return this.serviceFailed(
              new UpstreamError('status', service.name, `${service.name} answered ${response.statusCode}`),
            );
          }
          this.deliver(service, response);
        },
        (error: unknown) => {
          service.release();
          if (error instanceof BrokenCircuitError)
            return this.serviceFailed(
              new UpstreamError('circuit-open', service.name, `the circuit of ${service.name} is open`),
            );
          if (error instanceof UpstreamError) return this.serviceFailed(error);
          this.crash(error);
        },
      );
  }

  /** The monolith takes over when the fallback rule (`mayFallBack`) allows it. */
  serviceFailed(failure: UpstreamError): void {
    const { fallback } = this.decision;
    if (fallback && mayFallBack(failure.failure, this.kind) && !this.exchange.res.destroyed) {
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
    if (this.options.exposeHeaders) {
      headers.push('x-ficus-route', this.decision.routeId, 'x-ficus-upstream', upstream.name);
      if (this.fallback) headers.push('x-ficus-fallback', this.fallback.reason);
    }
    try {
      writeHead(res, response, headers, this.options.transport.keepAppHeaders);
    } catch (error) {
      // An answer the upstream's client parsed but node's server will not write (a status below
      // 100, a control character in the reason phrase): the upstream is at fault, the router lives on.
      discard(body);
      upstream.release();
      return this.refuse(
        new UpstreamError(
          'reset',
          upstream.name,
          `${upstream.name} sent a response that cannot be forwarded (${(error as Error).message})`,
        ),
      );
    }
    // A body that breaks off is the upstream's failure (502), or 504 when it paused longer than
    // responseTimeoutMs; the abort our own destroy() causes is not.
    let failedWith: number | undefined;
    body.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'UND_ERR_ABORTED' && !res.destroyed)
        failedWith = error.code === 'UND_ERR_BODY_TIMEOUT' || error.code === 'FICUS_UPSTREAM_TIMEOUT' ? 504 : 502;
      res.destroy();
    });
    // A sampled response is copied (bounded) as it streams past; the client's bytes are untouched.
    const { shadow } = this.options;
    let copy: BoundedCopy | undefined;
    if (shadow && this.decision.sample > 0 && !this.fallback) {
      if (shadow.wants(this.decision, this.method, this.exchange.target, this.kind.body)) {
        const kept = (copy = new BoundedCopy(shadow.bodyLimit));
        body.on('data', (chunk: Buffer) => kept.add(chunk));
      }
    }
    pipeWithDeadline(body, res, this.options.sendTimeoutMs, () => this.options.onClientTimeout('send'));
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      upstream.release();
      if (!res.writableFinished) discard(body);
      this.finish(upstream.name, res.writableFinished ? response.statusCode : (failedWith ?? 499));
      if (copy && res.writableFinished && failedWith === undefined)
        shadow!.offer({
          decision: this.decision,
          servedBy: upstream,
          method: this.method,
          path: this.exchange.target,
          requestHeaders: this.outgoing.headers,
          requestBody: Buffer.isBuffer(this.outgoing.body) ? this.outgoing.body : null,
          status: response.statusCode,
          headers: response.headers,
          body: copy.result(),
        });
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
    const { req, res, target, requestId } = this.exchange;
    const { status, code } = failureResponse(timedOut(req) ? 'client-timeout' : failure.failure);
    // Nobody is left to answer: the client's departure is what happened.
    if (res.destroyed && !res.writableFinished) return this.finish('router', status === 408 ? 408 : 499);
    if (res.headersSent) res.destroy();
    else {
      const detail = `${failure.message}; ${this.fallback ? 'the monolith failed too' : 'try again later'}`;
      const headers: Record<string, string> =
        status === 503 ? { 'retry-after': '1' } : status === 408 ? { connection: 'close' } : {};
      writeProblem(res, new FicusError(code, detail, { status }), { instance: target, requestId }, headers);
    }
    this.finish('router', status);
  }

  crash(error: unknown): void {
    const { res, requestId } = this.exchange;
    if (res.headersSent) res.destroy();
    else
      writeProblem(
        res,
        new FicusError('FICUS_ERR_INTERNAL', 'the router failed to forward this request', { cause: error }),
        { requestId },
      );
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
      status: timedOut(exchange.req) && status === 499 ? 408 : status,
      durationMs: performance.now() - exchange.started,
    };
    if (this.fallback) event.fallback = this.fallback;
    this.options.onServed(event);
  }
}

/**
 * Carries out a decision: sends to the primary upstream (a service goes through its bulkhead,
 * circuit breaker and retries), streams the answer back, and hands the request to the
 * fallback (the monolith) when the service fails and `mayFallBack` allows it. `body` is the
 * request body read in full, the request itself for a body streamed once, or null.
 */
export function forward(
  exchange: Exchange,
  decision: Decision,
  options: ForwardOptions,
  body: Buffer | IncomingMessage | null,
): void {
  new Forwarding(exchange, decision, options, body).start();
}
