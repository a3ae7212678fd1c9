import { Router } from 'express';
import { z } from 'zod';
import {
  parseBody,
  parseParams,
  parseQuery,
  principalOf,
  requireAuth,
  type Tokens,
} from '../../../../../platform/src/index.js';
import { cardNumber } from '../../payments/index.js';
import { getOrder, listOrders } from '../internal/order-repository.js';
import { placeOrder, type PlaceOrderDeps } from '../internal/place-order.js';

const idParams = z.object({ id: z.uuid('expected an order id (UUID)') });

const pageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  offset: z.coerce.number().int().min(0).default(0),
});

const placeOrderBody = z.strictObject({
  items: z
    .array(
      z.strictObject({
        productId: z.uuid('expected a product id (UUID)'),
        quantity: z.number().int().min(1).max(1000),
      }),
    )
    .min(1, 'an order needs at least one item')
    .max(100),
  payment: z.strictObject({ cardNumber }),
});

export function ordersRoutes(deps: PlaceOrderDeps & { tokens: Tokens }): Router {
  const { db } = deps;
  const router = Router();
  router.use('/orders', requireAuth(deps.tokens));

  router.post('/orders', async (req, res) => {
    const body = parseBody(placeOrderBody, req);
    const order = await placeOrder(deps, {
      userId: principalOf(res).userId,
      lines: body.items,
      cardNumber: body.payment.cardNumber,
    });
    res.status(201).location(`${req.baseUrl}/orders/${order.id}`).json(order);
  });

  router.get('/orders', async (req, res) => {
    const page = parseQuery(pageQuery, req);
    res.json({ items: await listOrders(db, principalOf(res).userId, page), limit: page.limit, offset: page.offset });
  });

  router.get('/orders/:id', async (req, res) => {
    const principal = principalOf(res);
    res.json(
      await getOrder(db, parseParams(idParams, req).id, principal.role === 'admin' ? undefined : principal.userId),
    );
  });

  return router;
}
