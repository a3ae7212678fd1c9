import { describe, expect, it } from 'vitest';
import { endpointOf } from '../../../../router/src/shadow/endpoint.js';

describe('endpointOf', () => {
  it('replaces numbers, UUIDs and long hex ids with :id and drops the query', () => {
    expect(endpointOf('GET', '/api/v1/products/42?include=stock')).toBe('GET /api/v1/products/:id');
    expect(endpointOf('GET', '/api/v1/orders/3f2b8c1e-9d4a-4b7e-a1c2-0e5f6a7b8c9d/items/7')).toBe(
      'GET /api/v1/orders/:id/items/:id',
    );
    expect(endpointOf('PUT', '/api/v1/sessions/5f2b8c1e9d4a4b7e')).toBe('PUT /api/v1/sessions/:id');
    expect(endpointOf('GET', '/api/v1/charges/ch_3MtwBwLkdIwHu7ix28a3tqPa')).toBe('GET /api/v1/charges/:id');
  });

  it('keeps words, versions and short hex-looking words as they are', () => {
    expect(endpointOf('GET', '/api/v1/users/me')).toBe('GET /api/v1/users/me');
    expect(endpointOf('POST', '/api/v1/payments/charges')).toBe('POST /api/v1/payments/charges');
    expect(endpointOf('GET', '/api/v2/cafe/beef')).toBe('GET /api/v2/cafe/beef');
    expect(endpointOf('GET', '/')).toBe('GET /');
    expect(endpointOf('GET', '/?q=1')).toBe('GET /');
  });
});
