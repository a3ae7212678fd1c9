import request from 'supertest';
import type { Express } from 'express';
import { createLogger, type FlagSource, type Logger } from '../../platform/src/index.js';
import { createMonolith, type Monolith } from '../../monolith/src/app.js';
import { seedModules } from '../../monolith/src/database.js';
import { definedModules } from '../../monolith/src/modules.js';
import { demoAccounts } from '../../monolith/src/modules/users/index.js';
import { createSandboxProvider, type PaymentProvider } from '../../monolith/src/modules/payments/index.js';
import { createTestDatabase, type TestDatabase } from './database.js';

export interface TestMonolith {
  app: Express;
  monolith: Monolith;
  database: TestDatabase;
  /** Bearer token of a seeded demo account. */
  token(who: 'admin' | 'customer'): Promise<string>;
  close(): Promise<void>;
}

/** A migrated, seeded monolith on its own database, for supertest. */
export async function startTestMonolith(
  options: {
    env?: Record<string, string>;
    paymentProvider?: PaymentProvider;
    flags?: FlagSource;
    /** Where the monolith logs (silent when omitted), e.g. a capturingLogger. */
    logger?: Logger;
  } = {},
): Promise<TestMonolith> {
  const database = await createTestDatabase(options.env ? { env: options.env } : {});
  await seedModules(database.config, { modules: definedModules });
  const monolith = createMonolith({
    config: database.config,
    modules: definedModules,
    logger: options.logger ?? createLogger({ level: 'silent', name: 'test' }),
    ...(options.paymentProvider ? { paymentProvider: options.paymentProvider } : {}),
    ...(options.flags ? { flags: options.flags } : {}),
  });
  const tokens = new Map<string, string>();
  return {
    app: monolith.app,
    monolith,
    database,
    async token(who) {
      const cached = tokens.get(who);
      if (cached) return cached;
      const account = demoAccounts.find((a) => a.role === who)!;
      const res = await request(monolith.app)
        .post('/api/v1/users/sign-in')
        .send({ email: account.email, password: account.password })
        .expect(200);
      tokens.set(who, res.body.token);
      return res.body.token as string;
    },
    async close() {
      await monolith.close();
      await database.drop();
    },
  };
}

/** The sandbox payment provider, counting the calls that reach it. */
export function countingProvider(): { provider: PaymentProvider; calls: { charge: number; refund: number } } {
  const sandbox = createSandboxProvider();
  const calls = { charge: 0, refund: 0 };
  const provider: PaymentProvider = {
    charge: (charge, signal) => {
      calls.charge++;
      return sandbox.charge(charge, signal);
    },
    refund: (ref, signal) => {
      calls.refund++;
      return sandbox.refund(ref, signal);
    },
  };
  return { provider, calls };
}
