import { Router } from 'express';
import { z } from 'zod';
import type { Knex, Tokens } from '../../../../../platform/src/index.js';
import { parseBody, parseParams, requireAuth } from '../../../../../platform/src/index.js';
import { createCharge, getCharge, refundCharge } from '../internal/charges.js';
import type { PaymentProvider } from '../internal/provider.js';
import { cardNumber } from './card-number.js';

const idParams = z.object({ id: z.uuid('expected a charge id (UUID)') });

const chargeBody = z.strictObject({
  reference: z.string().min(1).max(200),
  amountCents: z.number().int().positive(),
  currency: z.string().regex(/^[A-Z]{3}$/, 'expected an ISO 4217 code such as EUR'),
  card: z.strictObject({ number: cardNumber }),
});

export function paymentsRoutes(deps: {
  db: Knex;
  tokens: Tokens;
  provider: PaymentProvider;
  timeoutMs: number;
}): Router {
  const { db, provider, timeoutMs } = deps;
  const router = Router();
  const admin = requireAuth(deps.tokens, { role: 'admin' });

  router.post('/payments/charges', admin, async (req, res) => {
    const body = parseBody(chargeBody, req);
    const charge = await createCharge(db, provider, timeoutMs, { ...body, cardNumber: body.card.number });
    res.status(201).location(`${req.baseUrl}/payments/charges/${charge.id}`).json(charge);
  });

  router.get('/payments/charges/:id', admin, async (req, res) => {
    res.json(await getCharge(db, parseParams(idParams, req).id));
  });

  router.post('/payments/charges/:id/refund', admin, async (req, res) => {
    res.json(await refundCharge(db, provider, timeoutMs, parseParams(idParams, req).id));
  });

  return router;
}
