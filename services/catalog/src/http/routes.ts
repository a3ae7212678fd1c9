// Copied by ficus extract from monolith/src/modules/catalog/http/routes.ts; the catalog service owns this file now.
import { Router } from 'express';
import { z } from 'zod';
import type { Knex, Tokens } from '../../../../platform/src/index.js';
import { parseBody, parseParams, parseQuery, requireAuth } from '../../../../platform/src/index.js';
import { createProduct, getProduct, listProducts, setStock } from '../internal/products.js';

const idParams = z.object({ id: z.uuid('expected a product id (UUID)') });

const pageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});

const newProductBody = z.strictObject({
  sku: z.string().trim().min(1).max(64),
  name: z.string().trim().min(1).max(200),
  description: z.string().max(2000).optional(),
  priceCents: z.number().int().positive(),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, 'expected an ISO 4217 code such as EUR')
    .default('EUR'),
  available: z.number().int().min(0).default(0),
});

const stockBody = z.strictObject({ available: z.number().int().min(0) });

export function catalogRoutes(db: Knex, tokens: Tokens): Router {
  const router = Router();
  const admin = requireAuth(tokens, { role: 'admin' });

  router.get('/products', async (req, res) => {
    const page = parseQuery(pageQuery, req);
    res.json({ items: await listProducts(db, page), limit: page.limit, offset: page.offset });
  });

  router.get('/products/:id', async (req, res) => {
    const { id } = parseParams(idParams, req);
    res.json(await getProduct(db, id));
  });

  router.post('/products', admin, async (req, res) => {
    const product = await createProduct(db, parseBody(newProductBody, req));
    res.status(201).location(`${req.baseUrl}/products/${product.id}`).json(product);
  });

  router.put('/products/:id/stock', admin, async (req, res) => {
    const { id } = parseParams(idParams, req);
    res.json(await setStock(db, id, parseBody(stockBody, req).available));
  });

  return router;
}
