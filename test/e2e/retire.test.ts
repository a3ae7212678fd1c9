import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { demoAccounts, sandboxCards } from '../kit/fixtures.js';
import { freePort } from '../kit/ports.js';
import { type Spawned, spawnNode, waitFor } from '../kit/processes.js';
import { cloneOfThisRepository } from '../kit/repositories.js';

let dir: string | undefined;
let dev: Spawned | undefined;

afterAll(async () => {
  if (dev && dev.child.exitCode === null) {
    dev.child.kill('SIGINT');
    await dev.exited;
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

const ready = async (run: Spawned) =>
  waitFor(async () => (run.output().includes('Press Ctrl-C') ? true : undefined), 90_000, run.output);

describe('ficus retire on a copy of the starter', () => {
  it('removes catalog from the monolith for good: it starts without it, orders go through the service, the boundaries hold', async () => {
    const copy = await cloneOfThisRepository();
    dir = copy;
    const ports = { monolith: await freePort(), router: await freePort(), catalog: await freePort() };
    const env = {
      FICUS_DATA_DIR: join(copy, '.data'),
      FICUS_PG_PORT: String(await freePort()),
      PORT: String(ports.monolith),
      ROUTER_PORT: String(ports.router),
      ADMIN_PORT: String(await freePort()),
      CATALOG_SERVICE_PORT: String(ports.catalog),
      LOG_LEVEL: 'warn',
    };
    const [monolith, router, catalog] = [ports.monolith, ports.router, ports.catalog].map(
      (p) => `http://127.0.0.1:${p}`,
    );
    const databaseUrl = `postgres://postgres:ficus-embedded@127.0.0.1:${env.FICUS_PG_PORT}/ficus`;
    const cliEnv = { DATABASE_URL: databaseUrl, MONOLITH_URL: monolith, CATALOG_SERVICE_URL: catalog };
    const ficus = async (...args: string[]) => {
      const run = spawnNode(['tools/bin/ficus.mjs', ...args], cliEnv, copy);
      return { code: await run.exited, output: run.output() };
    };
    dev = spawnNode(['tools/bin/ficus.mjs', 'dev'], env, copy);
    await ready(dev);
    const shadowHint = '(shadow: npx ficus flags set catalog-read --stage shadow --sample 100)';
    expect(dev.output()).toContain(shadowHint);

    const early = await ficus('retire', 'catalog', '--yes');
    expect(early.code, early.output).toBe(1);
    expect(early.output).toContain("catalog's writes are still on the monolith: move them first");
    const reads = await ficus(
      'flags',
      'set',
      'catalog-read',
      '--stage',
      'service',
      '--force',
      '--reason',
      'retire test',
    );
    expect(reads.code, reads.output).toBe(0);
    const cutover = await ficus('data', 'cutover', 'catalog');
    expect(cutover.code, cutover.output).toBe(0);
    const tooSoon = await ficus('retire', 'catalog', '--yes');
    expect(tooSoon.code, tooSoon.output).toBe(1);
    expect(tooSoon.output).toContain('less than --served-for 7 days');
    // Something outside the schema that DROP SCHEMA … CASCADE would take with it: refused, named.
    const sql = new pg.Client({ connectionString: databaseUrl });
    await sql.connect();
    await sql.query('CREATE VIEW orders.product_names AS SELECT id, name FROM catalog.products');
    const dependent = await ficus('retire', 'catalog', '--yes', '--served-for', '0');
    expect(dependent.code, dependent.output).toBe(1);
    expect(dependent.output).toContain("view orders.product_names depends on the monolith's catalog tables");
    await sql.query('DROP VIEW orders.product_names');
    await sql.end();
    // Not a terminal, no --yes: the plan is shown, nothing is done.
    const unconfirmed = await ficus('retire', 'catalog', '--served-for', '0');
    expect(unconfirmed.code, unconfirmed.output).toBe(1);
    expect(unconfirmed.output).toContain("the monolith's schema catalog is DROPPED with its rows");
    expect(unconfirmed.output).toContain('retire needs a confirmation: run it in a terminal, or pass --yes');
    expect(await readFile(join(copy, 'router/routes.yaml'), 'utf8')).not.toMatch(/^\s+stage: retired/m);
    const retired = await ficus('retire', 'catalog', '--yes', '--served-for', '0');
    expect(retired.code, retired.output).toBe(0);
    console.log(retired.output);
    expect(retired.output).toContain("the monolith's schema catalog dropped");
    expect(await readFile(join(copy, 'router/routes.yaml'), 'utf8')).toMatch(
      /id: catalog-read[\s\S]*^\s+stage: retired/m,
    );
    const manifest = JSON.parse(await readFile(join(copy, 'monolith/src/modules/catalog/module.json'), 'utf8'));
    expect(manifest.retired).toMatchObject({ service: 'catalog' });
    const again = await ficus('retire', 'catalog', '--yes', '--served-for', '0');
    expect(again.code, again.output).toBe(1);
    expect(again.output).toContain('catalog was retired on');
    // What is left to clean up: the routes' toggles and the API flag nothing reads any more.
    const status = await ficus('flags', 'status', '--no-probe');
    expect(status.code, status.output).toBe(0);
    for (const line of [
      'flag ficus.catalog-read can be deleted: route catalog-read is retired',
      'flag ficus.catalog-write can be deleted: route catalog-write is retired',
      "flag ficus.catalog-api can be deleted: module catalog is retired (its callers use the service's API)",
    ])
      expect(status.output).toContain(line);

    dev.child.kill('SIGINT');
    await dev.exited;
    dev = spawnNode(['tools/bin/ficus.mjs', 'dev'], env, copy);
    await ready(dev);
    expect(dev.output()).toContain('catalog is retired: the service catalog owns its data');
    // No route left to shadow: the banner does not suggest one.
    expect(dev.output()).not.toContain(shadowHint);
    // The monolith has no catalog any more: not mounted, no schema; the router sends it all to the service.
    expect((await fetch(`${monolith}/api/v1/products`)).status).toBe(404);
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    try {
      const { rowCount } = await admin.query(`SELECT 1 FROM pg_namespace WHERE nspname = 'catalog'`);
      expect(rowCount).toBe(0);
    } finally {
      await admin.end();
    }
    const listed = await fetch(`${router}/api/v1/products?limit=50`);
    expect(listed.status).toBe(200);
    expect(listed.headers.get('x-ficus-upstream')).toBe('catalog');
    const products = ((await listed.json()) as { items: Array<{ id: string; available: number }> }).items;
    const product = products.find((p) => p.available > 0)!;

    // Orders, still in the monolith, reserve stock through the service's API.
    const signIn = await fetch(`${router}/api/v1/users/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: demoAccounts[1]!.email, password: demoAccounts[1]!.password }),
    });
    const { token } = (await signIn.json()) as { token: string };
    const order = await fetch(`${router}/api/v1/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({
        items: [{ productId: product.id, quantity: 1 }],
        payment: { cardNumber: sandboxCards.approved },
      }),
    });
    expect(order.status, await order.clone().text()).toBe(201);
    expect(order.headers.get('x-ficus-upstream')).toBe('monolith');
    const after = (await (await fetch(`${catalog}/api/v1/products/${product.id}`)).json()) as { available: number };
    expect(after.available).toBe(product.available - 1);

    const boundaries = await ficus('boundaries');
    expect(boundaries.code, boundaries.output).toBe(0);
    const typecheck = spawnNode(['node_modules/typescript/bin/tsc', '--noEmit', '-p', '.'], {}, copy);
    expect(await typecheck.exited, typecheck.output()).toBe(0);
    // The repository's own tests stay green in the retired copy (they test the starter as it
    // ships: every module's code, and a copy with the retire undone); the unit and monolith ones
    // here, on npm start's server, one file at a time (beside the rest of this run).
    const suite = spawnNode(
      ['node_modules/vitest/vitest.mjs', 'run', 'test/unit', 'test/integration/monolith', '--maxWorkers', '1'],
      { DATABASE_URL: databaseUrl },
      copy,
    );
    expect(await suite.exited, suite.output()).toBe(0);
  }, 300_000);
});
