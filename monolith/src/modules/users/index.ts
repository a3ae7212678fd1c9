/**
 * users — accounts, password sign-in, JWTs.
 * This file is the module's only public surface.
 */
import type { Router } from 'express';
import type { Knex, ModuleDefinition, Tokens } from '../../../../platform/src/index.js';
import { parseManifest } from '../../../../platform/src/index.js';
import { usersRoutes } from './http/routes.js';
import { getAccount, type Account } from './internal/accounts.js';
import { demoAccounts, seedUsers } from './internal/seed.js';
import { migrations } from './migrations/index.js';
import manifest from './module.json' with { type: 'json' };

export type { Account };
export { demoAccounts };

export interface UsersApi {
  getAccount(id: string): Promise<Account>;
}

export const usersModule: ModuleDefinition = {
  manifest: parseManifest(manifest, 'monolith/src/modules/users/module.json'),
  migrations,
  seed: seedUsers,
};

export function createUsers(deps: { db: Knex; tokens: Tokens }): { api: UsersApi; routes: Router } {
  return {
    api: { getAccount: (id) => getAccount(deps.db, id) },
    routes: usersRoutes(deps.db, deps.tokens),
  };
}
