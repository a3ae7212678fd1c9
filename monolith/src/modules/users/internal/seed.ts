import type { Knex } from '../../../../../platform/src/index.js';
import { registerAccount } from './accounts.js';

/** Demo accounts printed by `npm start`. Not for production databases. */
export const demoAccounts = [
  { email: 'admin@example.com', name: 'Demo Admin', password: 'ficus-admin-password', role: 'admin' as const },
  {
    email: 'customer@example.com',
    name: 'Demo Customer',
    password: 'ficus-customer-password',
    role: 'customer' as const,
  },
];

export async function seedUsers(db: Knex): Promise<void> {
  for (const account of demoAccounts) {
    const exists = await db('accounts').whereRaw('lower(email) = lower(?)', [account.email]).first('id');
    if (!exists) await registerAccount(db, account);
  }
}
