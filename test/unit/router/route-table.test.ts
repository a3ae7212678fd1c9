import { describe, expect, it } from 'vitest';
import { matchRoute, parseRouteTable } from '../../../router/src/route-table/load.js';
import { normalizeTarget } from '../../../router/src/normalize-path.js';
import { defaultShadowRules } from '../../../router/src/route-table/schema.js';

const upstreams = `
upstreams:
  monolith: { url: "http://127.0.0.1:3000" }
  catalog: { url: "http://127.0.0.1:3101" }
  orders: { url: "http://127.0.0.1:3102" }
defaultUpstream: monolith
`;

function table(routes: string) {
  return parseRouteTable(`${upstreams}routes:\n${routes}`, 'routes.yaml');
}

function route(t: ReturnType<typeof table>, method: string, target: string, headers: Record<string, string> = {}) {
  const normalized = normalizeTarget(target);
  if (!normalized.ok) throw new Error(normalized.reason);
  return matchRoute(t, method, normalized.segments, headers)?.id;
}

describe('route table', () => {
  const t = table(`
  - id: products-any
    match: { path: /api/v1/products/** }
    service: catalog
  - id: product-by-id
    match: { path: /api/v1/products/:id, methods: [GET] }
    service: orders
  - id: product-stock
    match: { path: /api/v1/products/featured }
    service: orders
  - id: orders-v2
    match: { path: /api/v1/orders/**, headers: { Accept-Version: "2" } }
    service: orders
`);

  it('fills defaults: flag name, fallback, stickiness, upstream limits', () => {
    const products = t.routes.find((r) => r.id === 'products-any')!;
    expect(products).toMatchObject({ flag: 'ficus.products-any', fallback: 'monolith', stickiness: 'userId' });
    expect(t.upstreams.get('catalog')).toMatchObject({
      connectTimeoutMs: 1000,
      responseTimeoutMs: 30000,
      maxConcurrent: 256,
      retries: 2,
      breaker: { consecutiveFailures: 5, halfOpenAfterMs: 5000 },
    });
  });

  it('picks the most specific route: static beats :param beats /**, whatever the file order', () => {
    expect(route(t, 'GET', '/api/v1/products/featured')).toBe('product-stock');
    expect(route(t, 'GET', '/api/v1/products/42')).toBe('product-by-id');
    expect(route(t, 'POST', '/api/v1/products/42')).toBe('products-any');
    expect(route(t, 'GET', '/api/v1/products')).toBe('products-any');
    expect(route(t, 'GET', '/api/v1/products/42/reviews')).toBe('products-any');
  });

  it('treats HEAD as GET and matches case-insensitively', () => {
    expect(route(t, 'HEAD', '/API/V1/PRODUCTS/42')).toBe('product-by-id');
  });

  it('requires the header value of a header-matched route', () => {
    expect(route(t, 'GET', '/api/v1/orders/1', { 'accept-version': '2' })).toBe('orders-v2');
    expect(route(t, 'GET', '/api/v1/orders/1', { 'accept-version': '1' })).toBeUndefined();
  });

  it('leaves everything else to the default upstream', () => {
    expect(route(t, 'GET', '/api/v1/productsx')).toBeUndefined();
    expect(route(t, 'GET', '/api/v1/users/me')).toBeUndefined();
  });

  const invalid = (routes: string) => {
    try {
      table(routes);
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error('expected the table to be refused');
  };

  it('names file, line, route id and field for schema errors, all at once', () => {
    const message = invalid(`
  - id: a
    match: { path: /a, methods: [FETCH] }
    service: catalog
  - id: b
    match: { path: /b }
    service: catalog
    retry: 3
`);
    expect(message).toContain('routes.yaml is invalid; fix these and reload:');
    expect(message).toMatch(/routes\.yaml:10: routes\[0\] \(id "a"\): match\.methods\.0: /);
    expect(message).toMatch(/routes\.yaml:12: routes\[1\] \(id "b"\): Unrecognized key.*\(retry\)/);
  });

  it('refuses duplicate ids, unknown upstreams and shared flags', () => {
    const message = invalid(`
  - id: a
    match: { path: /a }
    service: catalog
    flag: shared
  - id: a
    match: { path: /b }
    service: billing
    flag: shared
`);
    expect(message).toContain('routes[1] (id "a"): id: duplicate id; routes[0] already uses "a"');
    expect(message).toContain('routes[1] (id "a"): service: unknown upstream "billing"; declare it under upstreams');
    expect(message).toContain('flag "shared" already drives route "a"');
  });

  it('refuses a route that an earlier one makes unreachable', () => {
    const message = invalid(`
  - id: all-orders
    match: { path: /api/v1/orders/:id }
    service: orders
  - id: get-orders
    match: { path: /api/v1/orders/:orderId, methods: [GET] }
    service: catalog
  - id: same-again
    match: { path: /api/v1/orders/:x }
    service: catalog
`);
    expect(message).toContain(
      'routes[2] (id "same-again"): match: can never match: route "all-orders" (/api/v1/orders/:id) takes every request it would',
    );
    expect(message).not.toContain('get-orders');
  });

  it.each([
    ['/api//orders', 'empty segment'],
    ['/api/../orders', '. or .. segment'],
    ['/api/**/orders', '** only as its last segment'],
    ['/api/ord*', 'unsafe segment'],
    ['/api/%2e', 'unsafe segment'],
    ['api/orders', 'must start with /'],
  ])('refuses the unsafe pattern %s', (path, reason) => {
    expect(
      invalid(`
  - id: x
    match: { path: "${path}" }
    service: orders
`),
    ).toContain(reason);
  });

  describe('a retired route (stage: retired)', () => {
    it('is served by its service alone: no fallback unless written, default shadow rules, its flag kept', () => {
      const t = table(`
  - id: old-products
    match: { path: /api/v1/products/** }
    service: catalog
    stage: retired
  - id: old-orders
    match: { path: /api/v1/orders/** }
    service: orders
    stage: retired
    fallback: none
    flag: legacy.orders
  - id: live
    match: { path: /api/v1/users/** }
    service: orders
`);
      const byId = (id: string) => t.routes.find((r) => r.id === id)!;
      expect(byId('old-products')).toMatchObject({ stage: 'retired', fallback: 'none', flag: 'ficus.old-products' });
      expect(byId('old-products').shadow).toEqual(defaultShadowRules);
      expect(byId('old-orders')).toMatchObject({ stage: 'retired', fallback: 'none', flag: 'legacy.orders' });
      expect(byId('live').stage).toBeUndefined();
      expect(byId('live').fallback).toBe('monolith');
    });

    it('refuses fallback: monolith, saying the module is gone from the monolith', () => {
      const message = invalid(`
  - id: old-products
    match: { path: /api/v1/products/** }
    service: catalog
    stage: retired
    fallback: monolith
`);
      expect(message).toContain(
        'routes.yaml:13: routes[0] (id "old-products"): fallback: a retired route cannot fall back to the monolith: its module is gone from it',
      );
    });

    it('refuses shadow rules: there is no monolith answer to compare with', () => {
      const message = invalid(`
  - id: old-products
    match: { path: /api/v1/products/** }
    service: catalog
    stage: retired
    shadow: { ignore: [$.generatedAt] }
`);
      expect(message).toContain(
        'routes.yaml:13: routes[0] (id "old-products"): shadow: a retired route has no shadow traffic',
      );
    });

    it('must name its service, and one that is not the monolith', () => {
      const missing = invalid(`
  - id: old-products
    match: { path: /api/v1/products/** }
    stage: retired
`);
      expect(missing).toContain(
        'routes[0] (id "old-products"): service: missing: name the upstream that takes this route over (on a retired route, the service that serves all of it)',
      );
      const monolith = invalid(`
  - id: old-products
    match: { path: /api/v1/products/** }
    service: monolith
    stage: retired
`);
      expect(monolith).toContain('routes[0] (id "old-products"): service: is the default upstream');
    });

    it('knows no other declared stage: the others are flags', () => {
      expect(
        invalid(`
  - id: x
    match: { path: /x }
    service: catalog
    stage: service
`),
      ).toMatch(/routes\[0\] \(id "x"\): stage: .*"retired"/);
    });
  });

  it('reports YAML syntax errors with their line', () => {
    expect(() => parseRouteTable('upstreams: {\n  monolith: [', 'routes.yaml')).toThrowError(
      /routes\.yaml is not valid YAML:\n {2}routes\.yaml:\d+: /,
    );
  });
});
