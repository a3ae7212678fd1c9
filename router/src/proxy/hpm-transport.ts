import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import { createProxyMiddleware, type RequestHandler } from 'http-proxy-middleware';
import { setHeaderList } from './headers.js';
import {
  UpstreamError,
  upstreamErrorOf,
  upstreamTimeoutCode,
  type OutgoingRequest,
  type SendDone,
  type Transport,
} from './send.js';
import type { Upstream } from './upstream.js';

interface Pending {
  upstream: Upstream;
  outgoing: OutgoingRequest;
  done: SendDone;
  /** The request to the upstream, once the proxy made it: ended when the attempt fails. */
  proxyReq?: ClientRequest;
}

/** Sets a flat header list on a node:http request, repeated fields as arrays. */
function setHeaders(proxyReq: ClientRequest, list: readonly string[]): void {
  for (const name of proxyReq.getHeaderNames()) proxyReq.removeHeader(name);
  setHeaderList(proxyReq, list);
}

function timeoutError(upstream: Upstream): NodeJS.ErrnoException {
  return Object.assign(new Error(`${upstream.name} sent nothing for ${upstream.spec.responseTimeoutMs} ms`), {
    code: upstreamTimeoutCode,
  });
}

/**
 * The express form's transport: http-proxy-middleware (on node:http agents) sends the request
 * the core built (headers, normalized path, a buffered body) and hands the response back
 * unwritten (`selfHandleResponse`), so the core answers the client exactly as the standalone
 * router does. A streamed body is piped as soon as a socket is assigned: after a refused
 * connection it is gone, so such a request does not fall back (`lazyBody: false`).
 */
export function hpmTransport(): Transport {
  const proxies = new WeakMap<Upstream, RequestHandler>();
  // The send in progress for each request; its sends (retries, the fallback) come one at a time.
  const pending = new WeakMap<IncomingMessage, Pending>();
  const settle = (
    req: IncomingMessage,
    error: NodeJS.ErrnoException | UpstreamError | undefined,
    response?: IncomingMessage,
    only?: Pending,
  ) => {
    const current = pending.get(req);
    if (!current || (only && current !== only)) return;
    pending.delete(req);
    if (error) {
      // The proxy does not end its request on every failure (a client's 408, say): it would hold an agent socket.
      if (current.proxyReq && !current.proxyReq.destroyed) current.proxyReq.destroy();
      return current.done(
        error instanceof UpstreamError ? error : upstreamErrorOf(current.upstream, current.outgoing.body, error),
      );
    }
    current.done(undefined, {
      statusCode: response!.statusCode ?? 502,
      statusText: response!.statusMessage,
      headers: response!.headers,
      body: response!,
    });
  };

  const proxyFor = (upstream: Upstream): RequestHandler => {
    let proxy = proxies.get(upstream);
    if (proxy) return proxy;
    proxy = createProxyMiddleware<IncomingMessage, ServerResponse>({
      target: upstream.url.origin,
      agent: upstream.agent,
      ws: false,
      selfHandleResponse: true,
      on: {
        proxyReq(proxyReq, req) {
          const current = pending.get(req);
          if (!current) return;
          current.proxyReq = proxyReq;
          setHeaders(proxyReq, current.outgoing.headers);
          const { body } = current.outgoing;
          // responseTimeoutMs bounds the wait for headers and every pause within the body, as undici's timeouts do.
          proxyReq.setTimeout(upstream.spec.responseTimeoutMs, () => {
            const error = timeoutError(upstream);
            const response = (proxyReq as ClientRequest & { res?: IncomingMessage }).res;
            if (response) response.destroy(error);
            else proxyReq.destroy(error);
          });
          if (Buffer.isBuffer(body)) {
            proxyReq.setHeader('content-length', String(body.length));
            // The client's stream was read in full already: piping it only ends this request.
            proxyReq.write(body);
          }
        },
        proxyRes(proxyRes, req) {
          settle(req, undefined, proxyRes);
        },
        error(error, req) {
          settle(req as IncomingMessage, error as NodeJS.ErrnoException);
        },
      },
    });
    proxies.set(upstream, proxy);
    return proxy;
  };

  return {
    lazyBody: false,
    keepAppHeaders: true,
    send(upstream, outgoing, { req, res }, done) {
      const attempt: Pending = { upstream, outgoing, done };
      pending.set(req, attempt);
      // A client that leaves before the answer: the proxy destroys its request without an error
      // event, so the attempt is settled here (the core then frees the slot).
      // The client's leaving, not the upstream's failure: the breaker does not count it.
      res.once('close', () =>
        settle(
          req,
          new UpstreamError('aborted', upstream.name, 'the client closed its connection'),
          undefined,
          attempt,
        ),
      );
      // The upstream receives the normalized path; node's server has answered any Expect
      // itself (and http-proxy-middleware would skip our headers for a request that has one).
      req.url = outgoing.path;
      delete req.headers.expect;
      proxyFor(upstream)(req, res).catch((error: unknown) => settle(req, error as NodeJS.ErrnoException));
    },
  };
}
