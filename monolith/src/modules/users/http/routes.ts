import { Router } from 'express';
import { z } from 'zod';
import type { Knex, Tokens } from '../../../../../platform/src/index.js';
import { parseBody, principalOf, requireAuth } from '../../../../../platform/src/index.js';
import { getAccount, registerAccount, signIn } from '../internal/accounts.js';

const email = z.email('expected an email address').max(254);

const registerBody = z.strictObject({
  email,
  name: z.string().trim().min(1).max(200),
  password: z.string().min(10, 'use at least 10 characters').max(256),
});

const signInBody = z.strictObject({ email, password: z.string().min(1).max(256) });

export function usersRoutes(db: Knex, tokens: Tokens): Router {
  const router = Router();

  router.post('/users', async (req, res) => {
    const account = await registerAccount(db, parseBody(registerBody, req));
    res.status(201).location(`${req.baseUrl}/users/${account.id}`).json(account);
  });

  router.post('/users/sign-in', async (req, res) => {
    res.json(await signIn(db, tokens, parseBody(signInBody, req)));
  });

  router.get('/users/me', requireAuth(tokens), async (_req, res) => {
    res.json(await getAccount(db, principalOf(res).userId));
  });

  return router;
}
