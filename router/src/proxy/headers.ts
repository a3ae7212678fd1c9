import type { IncomingHttpHeaders } from 'node:http';
import { randomUUID } from 'node:crypto';

/** Hop-by-hop headers (RFC 9110 §7.6.1, and RFC 2616's list that proxies still honour). */
const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'transfer-encoding', 'upgrade', 'trailer', 'proxy-authenticate', 'proxy-authorization']);

/** Headers the router sets itself on the way to the upstream (Host becomes the upstream's; the original goes in X-Forwarded-Host). */
const replacedOnRequest = new Set(['host', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-request-id', 'traceparent', 'forwarded']);

/** Tokens of a Connection header value: more hop-by-hop headers, named by the sender. */
function connectionTokens(connection: string | string[] | undefined): Set<string> | undefined {
  if (connection === undefined) return undefined;
  let tokens: Set<string> | undefined;
  for (const token of String(connection).split(',')) {
    const name = token.trim().toLowerCase();
    if (name && name !== 'keep-alive' && name !== 'close') (tokens ??= new Set()).add(name);
  }
  return tokens;
}

export interface ForwardContext {
  requestId: string;
  traceparent: string;
  clientAddress: string;
  proto: 'http' | 'https';
  host: string | undefined;
}

const requestIdPattern = /^[\w.:-]{1,128}$/;
const traceparentPattern = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** The caller's request id if well-formed, else a new one (a UUID). */
export function requestIdOf(incoming: string | string[] | undefined): string {
  return typeof incoming === 'string' && requestIdPattern.test(incoming) ? incoming : randomUUID();
}

/**
 * The caller's W3C traceparent if valid, else a new sampled trace. A new trace reuses the
 * randomness of a generated request id (a UUID) when there is one, to spend one random draw.
 */
export function traceparentOf(incoming: string | string[] | undefined, requestId: string): string {
  if (typeof incoming === 'string' && traceparentPattern.test(incoming) && !incoming.startsWith('00-00000000000000000000000000000000')) return incoming;
  const uuid = requestId.length === 36 && requestId[8] === '-' && requestId[14] === '-' ? requestId : randomUUID();
  const traceId = uuid.slice(0, 8) + uuid.slice(9, 13) + uuid.slice(14, 18) + uuid.slice(19, 23) + uuid.slice(24);
  return `00-${traceId}-${uuid.slice(19, 23)}${uuid.slice(24, 36)}-01`;
}

export type HeaderBag = Record<string, string | string[]>;

/**
 * The request headers for the upstream, from node's parsed (lower-cased) headers:
 * hop-by-hop headers removed, Host set to the upstream's, X-Forwarded-*, X-Request-Id and
 * traceparent set. Plain objects, not raw arrays: fewer allocations on the hot path.
 */
export function upstreamRequestHeaders(headers: IncomingHttpHeaders, upstreamHost: string, context: ForwardContext): HeaderBag {
  const named = connectionTokens(headers.connection);
  const out: HeaderBag = {};
  for (const name in headers) {
    if (hopByHop.has(name) || replacedOnRequest.has(name) || named?.has(name)) continue;
    const value = headers[name];
    if (value !== undefined) out[name] = value;
  }
  const forwardedFor = headers['x-forwarded-for'];
  out['host'] = upstreamHost;
  out['x-forwarded-for'] = forwardedFor ? `${forwardedFor}, ${context.clientAddress}` : context.clientAddress;
  out['x-forwarded-proto'] = context.proto;
  if (context.host) out['x-forwarded-host'] = context.host;
  out['x-request-id'] = context.requestId;
  out['traceparent'] = context.traceparent;
  return out;
}

/** The upstream's response headers for the client, hop-by-hop headers removed. */
export function clientResponseHeaders(headers: IncomingHttpHeaders): HeaderBag {
  const named = connectionTokens(headers.connection);
  const out: HeaderBag = {};
  for (const name in headers) {
    if (hopByHop.has(name) || named?.has(name)) continue;
    const value = headers[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}
