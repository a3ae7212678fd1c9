import { createHmac, timingSafeEqual } from 'node:crypto';
import { FicusError } from './errors.js';

/**
 * The header the router puts on a mirrored request it wants run in dry-run (docs/shadow-writes.md).
 * The router removes a client's own copy, so only a request it signed arrives with one.
 */
export const shadowHeader = 'x-ficus-shadow';

/** The request a signature covers: method and path with its query, as sent on the wire. */
export interface ShadowRequest {
  method: string;
  path: string;
}

export type ShadowVerdict = { ok: true } | { ok: false; reason: string };

const headerFormat = /^t=(\d{1,15}),v1=([0-9a-f]{64})$/;

function signature(secret: string, t: number, request: ShadowRequest): string {
  return createHmac('sha256', secret).update(`${t}.${request.method.toUpperCase()}.${request.path}`).digest('hex');
}

/**
 * The value of the x-ficus-shadow header for `request`: `t=<unix ms>,v1=<hex HMAC-SHA256 of
 * "<t>.<METHOD>.<path>">`, the scheme of Stripe's webhook signatures (a timestamp bound into the MAC
 * so a captured header expires).
 * @example signShadowRequest(config.SHADOW_SECRET, { method: 'POST', path: '/api/v1/orders?x=1' })
 */
export function signShadowRequest(secret: string, request: ShadowRequest, now = Date.now()): string {
  if (!secret)
    throw new FicusError('FICUS_ERR_CONFIG', 'cannot sign a shadow request without a secret; set SHADOW_SECRET');
  return `t=${now},v1=${signature(secret, now, request)}`;
}

/**
 * Whether `header` is a signature of `request` by `secret`, made within `maxSkewMs` of `now`.
 * A refusal says why in a sentence fit for a problem's detail; it never tells how close a guess was.
 * @example verifyShadowRequest(secret, req.headersDistinct['x-ficus-shadow'], { method: req.method, path: req.originalUrl })
 */
export function verifyShadowRequest(
  secret: string | undefined,
  header: string | string[] | undefined,
  request: ShadowRequest,
  now = Date.now(),
  maxSkewMs = 30_000,
): ShadowVerdict {
  if (!secret) {
    return { ok: false, reason: 'this server has no SHADOW_SECRET, so it runs no shadow requests' };
  }
  if (header === undefined || (Array.isArray(header) && header.length === 0)) {
    return { ok: false, reason: `the request has no ${shadowHeader} header` };
  }
  if (Array.isArray(header) && header.length > 1) {
    return { ok: false, reason: `the request has ${header.length} ${shadowHeader} headers; send exactly one` };
  }
  const value = Array.isArray(header) ? header[0]! : header;
  const match = headerFormat.exec(value);
  if (!match) {
    return { ok: false, reason: `the ${shadowHeader} header is malformed; expected t=<unix ms>,v1=<64 hex digits>` };
  }
  const t = Number(match[1]);
  if (t < now - maxSkewMs) {
    return { ok: false, reason: `the ${shadowHeader} signature is ${now - t} ms old, older than ${maxSkewMs} ms` };
  }
  if (t > now + maxSkewMs) {
    return {
      ok: false,
      reason: `the ${shadowHeader} signature is dated ${t - now} ms ahead, more than ${maxSkewMs} ms; check the clocks`,
    };
  }
  const expected = Buffer.from(signature(secret, t, request), 'hex');
  // Both are 32 bytes (the format admits 64 hex digits only), as timingSafeEqual requires.
  if (!timingSafeEqual(expected, Buffer.from(match[2]!, 'hex'))) {
    return {
      ok: false,
      reason: `the ${shadowHeader} signature does not match ${request.method.toUpperCase()} ${request.path} and this server's SHADOW_SECRET`,
    };
  }
  return { ok: true };
}
