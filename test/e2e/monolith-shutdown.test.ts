import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedModules } from '../../monolith/src/database.js';
import { definedModules } from '../../monolith/src/modules.js';
import { demoAccounts, sandboxCards } from '../kit/fixtures.js';
import { createTestDatabase, type TestDatabase } from '../kit/database.js';
import { freePort } from '../kit/ports.js';
import { spawnNode, waitFor, type Spawned } from '../kit/processes.js';
import { cloneOfThisRepository } from '../kit/repositories.js';

let database: TestDatabase;
/** The starter, copied: where the monolith runs, as it ships. */
let starter: string;
beforeAll(async () => {
  database = await createTestDatabase();
  await seedModules(database.config, { modules: definedModules });
  starter = await cloneOfThisRepository();
});
/** Every monolith this file started: one a failed assertion left running is stopped at the end. */
const started: Spawned[] = [];
afterAll(async () => {
  for (const run of started.filter((r) => r.child.exitCode === null && r.child.signalCode === null)) {
    run.child.kill('SIGKILL');
    await run.exited;
  }
  await database.drop();
  await rm(starter, { recursive: true, force: true });
});

async function startMonolithProcess(): Promise<{ proc: Spawned; base: string }> {
  const port = await freePort();
  const proc = spawnNode(
    ['--import', 'tsx', 'monolith/src/server.ts'],
    {
      DATABASE_URL: database.url,
      PORT: String(port),
      LOG_LEVEL: 'warn',
    },
    starter,
  );
  started.push(proc);
  const base = `http://127.0.0.1:${port}`;
  await waitFor(async () => ((await fetch(`${base}/readyz`)).ok ? true : undefined), 20_000, proc.output);
  return { proc, base };
}

describe('the monolith process on SIGTERM', () => {
  it('finishes in-flight requests, answers new ones 503, and exits 0', async () => {
    const { proc, base } = await startMonolithProcess();
    const customer = demoAccounts.find((a) => a.role === 'customer')!;
    const signIn = await fetch(`${base}/api/v1/users/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: customer.email, password: customer.password }),
    });
    const { token } = (await signIn.json()) as { token: string };
    const products = (await (await fetch(`${base}/api/v1/products`)).json()) as { items: Array<{ id: string }> };

    // The sandbox's slow card keeps this order in flight for about a second.
    const inFlight = fetch(`${base}/api/v1/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({
        items: [{ productId: products.items[0]!.id, quantity: 1 }],
        payment: { cardNumber: sandboxCards.slow },
      }),
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    proc.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 100));

    const late = await fetch(`${base}/api/v1/products`);
    expect(late.status).toBe(503);
    expect(late.headers.get('connection')).toBe('close');
    expect(((await late.json()) as { code: string }).code).toBe('FICUS_ERR_SHUTTING_DOWN');

    const finished = await inFlight;
    expect(finished.status).toBe(201);
    expect(((await finished.json()) as { status: string }).status).toBe('confirmed');
    expect(await proc.exited).toBe(0);
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });

  it('exits 1 with the variable named when the configuration is invalid', async () => {
    const proc = spawnNode(
      ['--import', 'tsx', 'monolith/src/server.ts'],
      { DATABASE_URL: 'mysql://nope', PORT: '1' },
      starter,
    );
    expect(await proc.exited).toBe(1);
    expect(proc.output()).toContain('FICUS_ERR_CONFIG');
    expect(proc.output()).toContain('DATABASE_URL: expected postgres://');
  });
});
