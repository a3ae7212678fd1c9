import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { shadowHeader, signShadowRequest, verifyShadowRequest } from '../../../platform/src/index.js';

const secret = 'a-shadow-secret-of-at-least-32-characters';
const now = 1_750_000_000_000;
const order = { method: 'POST', path: '/api/v1/orders?source=mirror' };
const signed = signShadowRequest(secret, order, now);

const refusal = (verdict: ReturnType<typeof verifyShadowRequest>) => (verdict.ok ? 'accepted' : verdict.reason);

describe('shadow request signatures', () => {
  it('names the header x-ficus-shadow', () => {
    expect(shadowHeader).toBe('x-ficus-shadow');
  });

  it('signs t=<unix ms>,v1=<hex HMAC-SHA256 of "<t>.<METHOD>.<path>">', () => {
    const mac = createHmac('sha256', secret).update(`${now}.POST./api/v1/orders?source=mirror`).digest('hex');
    expect(signed).toBe(`t=${now},v1=${mac}`);
  });

  it('accepts its own signature, within the skew either way, whatever the case of the method', () => {
    expect(verifyShadowRequest(secret, signed, order, now)).toEqual({ ok: true });
    expect(verifyShadowRequest(secret, signed, order, now + 30_000)).toEqual({ ok: true });
    expect(verifyShadowRequest(secret, signed, order, now - 30_000)).toEqual({ ok: true });
    expect(verifyShadowRequest(secret, [signed], { ...order, method: 'post' }, now)).toEqual({ ok: true });
  });

  it('refuses the signature of another path, query, method or secret', () => {
    for (const request of [
      { ...order, path: '/api/v1/orders' },
      { ...order, path: '/api/v1/orders?source=mirrors' },
      { ...order, path: '/api/v1/products?source=mirror' },
      { ...order, method: 'PUT' },
    ]) {
      expect(refusal(verifyShadowRequest(secret, signed, request, now)), JSON.stringify(request)).toMatch(
        /signature does not match .* and this server's SHADOW_SECRET/,
      );
    }
    expect(refusal(verifyShadowRequest(`${secret}!`, signed, order, now))).toMatch(/does not match/);
  });

  it('refuses a tampered signature or timestamp', () => {
    const digit = signed.at(-1) === '0' ? '1' : '0';
    expect(refusal(verifyShadowRequest(secret, `${signed.slice(0, -1)}${digit}`, order, now))).toMatch(
      /does not match/,
    );
    const later = signed.replace(`t=${now}`, `t=${now + 1}`);
    expect(refusal(verifyShadowRequest(secret, later, order, now))).toMatch(/does not match/);
  });

  it('refuses a stale signature and one dated in the future, saying which', () => {
    expect(refusal(verifyShadowRequest(secret, signed, order, now + 30_001))).toBe(
      'the x-ficus-shadow signature is 30001 ms old, older than 30000 ms',
    );
    expect(refusal(verifyShadowRequest(secret, signed, order, now - 30_001))).toBe(
      'the x-ficus-shadow signature is dated 30001 ms ahead, more than 30000 ms; check the clocks',
    );
    expect(refusal(verifyShadowRequest(secret, signed, order, now + 5_000, 1_000))).toMatch(/older than 1000 ms/);
  });

  it('refuses malformed headers', () => {
    const mac = signed.split('v1=')[1]!;
    for (const header of [
      '',
      'garbage',
      `v1=${mac},t=${now}`,
      `t=${now}`,
      `t=${now},v1=${mac.toUpperCase()}`,
      `t=${now},v1=${mac.slice(2)}`,
      `t=${now},v1=${mac}00`,
      `t=-1,v1=${mac}`,
      `t=${now},v1=${mac},v1=${mac}`,
      ` ${signed}`,
      `${signed}, ${signed}`,
    ]) {
      expect(refusal(verifyShadowRequest(secret, header, order, now)), header).toBe(
        'the x-ficus-shadow header is malformed; expected t=<unix ms>,v1=<64 hex digits>',
      );
    }
  });

  it('refuses a missing header and a repeated one', () => {
    expect(refusal(verifyShadowRequest(secret, undefined, order, now))).toBe(
      'the request has no x-ficus-shadow header',
    );
    expect(refusal(verifyShadowRequest(secret, [], order, now))).toBe('the request has no x-ficus-shadow header');
    expect(refusal(verifyShadowRequest(secret, [signed, signed], order, now))).toBe(
      'the request has 2 x-ficus-shadow headers; send exactly one',
    );
  });

  it('refuses everything when the server has no secret, and signs nothing without one', () => {
    expect(refusal(verifyShadowRequest(undefined, signed, order, now))).toBe(
      'this server has no SHADOW_SECRET, so it runs no shadow requests',
    );
    expect(refusal(verifyShadowRequest('', signed, order, now))).toMatch(/no SHADOW_SECRET/);
    expect(() => signShadowRequest('', order, now)).toThrow(/without a secret; set SHADOW_SECRET/);
  });
});
