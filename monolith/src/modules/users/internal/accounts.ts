import { hash, verify } from '@node-rs/argon2';
import type { Knex, Principal, Tokens } from '../../../../../platform/src/index.js';
import { FicusError } from '../../../../../platform/src/index.js';

export interface Account {
  id: string;
  email: string;
  name: string;
  role: Principal['role'];
}

interface AccountRow extends Account {
  password_hash: string;
}

const publicColumns = ['id', 'email', 'name', 'role'] as const;

/** Registers an account; the password is stored only as an Argon2id hash. */
export async function registerAccount(
  db: Knex,
  input: { email: string; name: string; password: string; role?: Principal['role'] },
): Promise<Account> {
  const passwordHash = await hash(input.password);
  const rows = await db('accounts')
    .insert({ email: input.email, name: input.name, password_hash: passwordHash, role: input.role ?? 'customer' })
    .onConflict(db.raw('(lower(email))'))
    .ignore()
    .returning<Account[]>([...publicColumns]);
  if (!rows[0])
    throw new FicusError('FICUS_ERR_CONFLICT', `an account with email ${input.email} already exists; sign in instead`);
  return rows[0];
}

export async function getAccount(db: Knex, id: string): Promise<Account> {
  const row = await db('accounts')
    .where({ id })
    .first<Account | undefined>([...publicColumns]);
  if (!row) throw new FicusError('FICUS_ERR_NOT_FOUND', `account ${id} does not exist`);
  return row;
}

// Verifying against a fixed hash when the email is unknown keeps response times alike, so
// timing does not tell which emails have accounts.
let decoyHash: Promise<string> | undefined;

export async function signIn(db: Knex, tokens: Tokens, input: { email: string; password: string }) {
  const row = await db('accounts').whereRaw('lower(email) = lower(?)', [input.email]).first<AccountRow | undefined>();
  decoyHash ??= hash('decoy password that matches nothing');
  const matches = await verify(row?.password_hash ?? (await decoyHash), input.password);
  if (!row || !matches) throw new FicusError('FICUS_ERR_UNAUTHORIZED', 'email or password is wrong');
  const { token, expiresIn } = await tokens.sign({ userId: row.id, role: row.role });
  return { token, tokenType: 'Bearer' as const, expiresIn };
}
