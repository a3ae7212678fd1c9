import { describe, expect, it } from 'vitest';
import { findRoutes, proposeRoutes } from '../../../../tools/src/extract/find-routes.js';

const routesFile = `
import { Router } from 'express';
export function shopRoutes(db: Knex, tokens: Tokens, logger?: Logger): Router {
  const router = Router();
  router.get('/products', list);
  router.get("/products/:id", async (req, res) => { res.json(await get(db, req.params.id)); });
  router
    .route('/carts/:id')
    .get(async (req, res) => { res.json(await cart(db, fn(req.params.id), ')')); })
    .put(update)
    .delete(remove);
  router.post('/products', admin, create);
  return router;
}
`;

describe('findRoutes', () => {
  it('reads verb calls and route() chains with literal paths, with their line', () => {
    const { routes, factories } = findRoutes([{ file: 'http/routes.ts', text: routesFile }]);
    expect(routes.map((r) => `${r.method} ${r.path}`)).toEqual([
      'DELETE /carts/:id',
      'GET /carts/:id',
      'PUT /carts/:id',
      'GET /products',
      'POST /products',
      'GET /products/:id',
    ]);
    expect(routes.find((r) => r.path === '/products/:id')?.site).toBe('http/routes.ts:6');
    expect(factories).toEqual([
      {
        name: 'shopRoutes',
        file: 'http/routes.ts',
        params: [
          { name: 'db', type: 'Knex' },
          { name: 'tokens', type: 'Tokens' },
          { name: 'logger', type: 'Logger' },
        ],
      },
    ]);
  });
});

describe('proposeRoutes', () => {
  it('splits reads from writes, one entry per first segment, extra ones sharing the first flag', () => {
    const { routes } = findRoutes([{ file: 'http/routes.ts', text: routesFile }]);
    expect(proposeRoutes('shop', '/api/v1/', routes)).toEqual([
      { id: 'shop-read', path: '/api/v1/carts/**', methods: ['GET'], kind: 'read' },
      {
        id: 'shop-read-products',
        flag: 'ficus.shop-read',
        path: '/api/v1/products/**',
        methods: ['GET'],
        kind: 'read',
      },
      { id: 'shop-write', path: '/api/v1/carts/**', methods: ['DELETE', 'PUT'], kind: 'write' },
      {
        id: 'shop-write-products',
        flag: 'ficus.shop-write',
        path: '/api/v1/products',
        methods: ['POST'],
        kind: 'write',
      },
    ]);
  });
});
