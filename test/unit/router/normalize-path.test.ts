import { describe, expect, it } from 'vitest';
import { normalizeTarget } from '../../../router/src/normalize-path.js';

const ok = (target: string) => {
  const result = normalizeTarget(target);
  if (!result.ok) throw new Error(`${target} was rejected: ${result.reason}`);
  return result;
};

describe('request path normalization', () => {
  it.each([
    ['/api/v1/orders', '/api/v1/orders'],
    ['/api/v1/orders/', '/api/v1/orders'],
    ['//api///v1//orders', '/api/v1/orders'],
    ['/api/v1/./orders', '/api/v1/orders'],
    ['/api/v1/products/../orders', '/api/v1/orders'],
    ['/api/v1/products/%2e%2e/orders', '/api/v1/orders'],
    ['/api/v1/products/%2E%2e/orders', '/api/v1/orders'],
    ['/api/v1/products/.%2e/orders', '/api/v1/orders'],
    ['/api/v1/%6Frders', '/api/v1/orders'],
    ['/api/v1/orders/caf%c3%a9', '/api/v1/orders/caf%C3%A9'],
    ['/api/v1/orders/%252e%252e', '/api/v1/orders/%252e%252e'],
    ['/', '/'],
  ])('%s → %s', (target, path) => {
    expect(ok(target).path).toBe(path);
  });

  it('keeps the query string untouched and out of matching', () => {
    expect(ok('/a/../b?x=/../c&y=%2F')).toMatchObject({ path: '/b', search: '?x=/../c&y=%2F', segments: ['b'] });
  });

  it('lower-cases segments for matching, keeps the case for the upstream', () => {
    expect(ok('/API/V1/Orders/AbC')).toMatchObject({
      path: '/API/V1/Orders/AbC',
      segments: ['api', 'v1', 'orders', 'abc'],
    });
  });

  it.each([
    ['/api/v1/orders%2f..%2fproducts', 'encoded /'],
    ['/api/v1/orders%2F1', 'encoded /'],
    ['/api/v1/orders%5c1', 'encoded /, \\'],
    ['/api/v1/orders%00', 'NUL'],
    ['/api\\v1', 'character'],
    ['/api/v1/or ders', 'character'],
    ['/api/v1/é', 'character'],
    ['/..', 'above the root'],
    ['/a/../../b', 'above the root'],
    ['/api/%zz', 'malformed'],
    ['/api/%2', 'malformed'],
    ['http://evil.example/api', 'must be a path'],
    ['*', 'must be a path'],
  ])('refuses %s with 400', (target, reason) => {
    const result = normalizeTarget(target);
    expect(result.ok).toBe(false);
    expect(result.ok === false && result.status).toBe(400);
    expect(result.ok === false && result.reason).toContain(reason);
  });

  it('answers 414 beyond the length limit', () => {
    expect(normalizeTarget(`/${'a'.repeat(3000)}`)).toMatchObject({ ok: false, status: 414 });
    expect(normalizeTarget(`/${'a'.repeat(100)}`, 50)).toMatchObject({ ok: false, status: 414 });
  });
});
