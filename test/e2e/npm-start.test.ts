import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoAccounts } from '../kit/fixtures.js';
import { freePort } from '../kit/ports.js';
import { spawnNode, waitFor, type Spawned } from '../kit/processes.js';
import { cloneOfThisRepository } from '../kit/repositories.js';

let dataDir: string;
/** The starter, copied: where npm start runs. */
let starter: string;
let env: Record<string, string>;
let base: string;
let routerBase: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'ficus-start-'));
  starter = await cloneOfThisRepository();
  const port = await freePort();
  const routerPort = await freePort();
  env = {
    FICUS_DATA_DIR: dataDir,
    FICUS_PG_PORT: String(await freePort()),
    PORT: String(port),
    ROUTER_PORT: String(routerPort),
    ADMIN_PORT: String(await freePort()),
    CATALOG_SERVICE_PORT: String(await freePort()),
    LOG_LEVEL: 'warn',
  };
  base = `http://127.0.0.1:${port}`;
  routerBase = `http://127.0.0.1:${routerPort}`;
});
/** Every npm start of this file: one a failed assertion left running is stopped (with its PostgreSQL) at the end. */
const started: Spawned[] = [];
afterAll(async () => {
  for (const run of started.filter((r) => r.child.exitCode === null && r.child.signalCode === null)) {
    run.child.kill('SIGINT');
    await run.exited;
  }
  await rm(dataDir, { recursive: true, force: true });
  await rm(starter, { recursive: true, force: true });
});

/** `npm start` runs `ficus dev`; run it the same way, without DATABASE_URL. */
function start(): Spawned {
  const run = spawnNode(['tools/bin/ficus.mjs', 'dev'], env, starter);
  started.push(run);
  return run;
}

async function products(proc: Spawned, timeoutMs: number): Promise<Array<{ sku: string }>> {
  return waitFor(
    async () => {
      const res = await fetch(`${base}/api/v1/products`);
      return res.ok ? ((await res.json()) as { items: Array<{ sku: string }> }).items : undefined;
    },
    timeoutMs,
    proc.output,
  );
}

function postgresPid(): number {
  return Number(readFileSync(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('npm start (ficus dev) on a machine with no database configured', () => {
  it('serves the seeded products within 20 s, and Ctrl-C stops everything with no postgres left', async () => {
    const started = Date.now();
    const proc = start();
    const items = await products(proc, 20_000);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(items.map((p) => p.sku)).toContain('FIG-001');
    expect(proc.output()).toContain(`monolith      ${base}`);
    expect(proc.output()).toContain(`router        ${routerBase}`);
    // The router is in front: the same products through it, served by the monolith.
    const viaRouter = await fetch(`${routerBase}/api/v1/products`);
    expect(viaRouter.status).toBe(200);
    expect(viaRouter.headers.get('x-ficus-route')).toBe('catalog-read');
    expect(viaRouter.headers.get('x-ficus-upstream')).toBe('monolith');
    expect(((await viaRouter.json()) as { items: unknown[] }).items).toHaveLength(items.length);
    expect(proc.output()).toContain(`${demoAccounts[0]!.email} / ${demoAccounts[0]!.password}`);

    const pid = postgresPid();
    expect(alive(pid)).toBe(true);
    proc.child.kill('SIGINT');
    expect(await proc.exited).toBe(0);
    expect(alive(pid)).toBe(false);
    expect(existsSync(join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
  });

  it('keeps the data across restarts', async () => {
    const first = start();
    await products(first, 20_000);
    const signIn = await fetch(`${base}/api/v1/users/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: demoAccounts[0]!.email, password: demoAccounts[0]!.password }),
    });
    const { token } = (await signIn.json()) as { token: string };
    const created = await fetch(`${base}/api/v1/products`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ sku: 'KEEP-1', name: 'Kept', priceCents: 100 }),
    });
    expect(created.status).toBe(201);
    first.child.kill('SIGINT');
    expect(await first.exited).toBe(0);

    const second = start();
    const items = await products(second, 20_000);
    expect(items.filter((p) => p.sku === 'KEEP-1')).toHaveLength(1);
    expect(items.filter((p) => p.sku === 'FIG-001')).toHaveLength(1);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });
});
