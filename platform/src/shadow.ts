import { createHmac, timingSafeEqual } from 'node:crypto';

export const shadowHeader = 'x-ficus-shadow';

export function signShadowRequest(secret: string, request: { method: string; path: string }, now = Date.now()): string {
  const mac = createHmac('sha256', secret).update(`${now}.${request.method}.${request.path}`).digest('hex');
  return `t=${now},v1=${mac}`;
}

export function verifyShadowRequest(
  secret: string | undefined,
  header: string | string[] | undefined,
  request: { method: string; path: string },
  now = Date.now(),
  maxSkewMs = 30_000,
): { ok: true } | { ok: false; reason: string } {
  if (!secret) return { ok: false, reason: 'no secret' };
  if (typeof header !== 'string') return { ok: false, reason: 'bad header' };
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  if (!match) return { ok: false, reason: 'malformed' };
  if (Math.abs(now - Number(match[1])) > maxSkewMs) return { ok: false, reason: 'stale' };
  const expected = createHmac('sha256', secret).update(`${match[1]}.${request.method}.${request.path}`).digest();
  return timingSafeEqual(expected, Buffer.from(match[2]!, 'hex')) ? { ok: true } : { ok: false, reason: 'signature' };
}
