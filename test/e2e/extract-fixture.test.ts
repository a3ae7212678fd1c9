import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createDb, dropDatabase, ensureDatabase, withDatabase } from '../../platform/src/index.js';
import { freePort } from '../kit/ports.js';
import { type Spawned, spawnNode, waitFor } from '../kit/processes.js';
import { fixtureRepository } from '../kit/repositories.js';

const ficus = join(process.cwd(), 'tools/bin/ficus.mjs');

async function ready(url: string, proc: Spawned): Promise<void> {
  await waitFor(
    async () => ((await fetch(`${url}/readyz`)).ok ? true : undefined),
    20_000,
    () => proc.output(),
  );
}

// A user's repository with another layout: modules in src/domains (ficus.config.json), mounted at
// /api, the chassis imported as the package `ficus/platform`, routes declared with router.route().
describe('ficus extract on a repository with src/domains', () => {
  let repo: string;
  const databases = ['shop', 'inventory'].map((name) => `ficus_fixture_${name}_${process.pid}`);
  const running: Spawned[] = [];

  beforeAll(async () => {
    repo = await fixtureRepository('domains-repo');
    for (const name of databases) await ensureDatabase(inject('adminUrl'), name);
  });

  afterAll(async () => {
    for (const proc of running) proc.child.kill('SIGTERM');
    await Promise.all(running.map((proc) => proc.exited));
    for (const name of databases) await dropDatabase(inject('adminUrl'), name);
    await rm(repo, { recursive: true, force: true });
  });

  it('produces a service that starts and passes its contract test against the monolith', async () => {
    const extract = spawnNode([ficus, 'extract', 'inventory', '--root', repo], {});
    expect(await extract.exited, extract.output()).toBe(0);
    expect(extract.output()).toMatch(/inventory-read +GET +\/api\/items\/\*\*/);
    expect(extract.output()).toMatch(/inventory-write +POST +\/api\/items/);
    const app = readFileSync(join(repo, 'services/inventory/src/app.ts'), 'utf8');
    expect(app).toContain("from 'ficus/platform'");
    expect(existsSync(join(repo, 'router/routes.yaml'))).toBe(true);

    const [shopUrl, serviceDbUrl] = databases.map((name) => withDatabase(inject('adminUrl'), name)) as [string, string];
    const [shopPort, servicePort] = [await freePort(), await freePort()];
    const shop = spawnNode(
      ['--import', 'tsx', 'src/server.ts'],
      { DATABASE_URL: shopUrl, PORT: String(shopPort) },
      repo,
    );
    const service = spawnNode(
      ['--import', 'tsx', 'services/inventory/src/server.ts'],
      { DATABASE_URL: serviceDbUrl, PORT: String(servicePort), LOG_LEVEL: 'warn' },
      repo,
    );
    running.push(shop, service);
    const urls = [`http://127.0.0.1:${shopPort}`, `http://127.0.0.1:${servicePort}`] as const;
    await ready(urls[0], shop);
    await ready(urls[1], service);
    const sides = ['--monolith', urls[0], '--service', urls[1], '--root', repo];

    const contract = spawnNode([ficus, 'contract', 'inventory', ...sides], {});
    expect(await contract.exited, contract.output()).toBe(0);
    expect(contract.output()).toContain('2 passed, 0 failed');

    // Parity is a test: a row only the monolith has makes the list differ, and the run fail.
    const db = createDb(shopUrl, { searchPath: ['inventory'] });
    await db('items').insert({ sku: 'only-in-shop', shelf: 3 });
    await db.destroy();
    const differing = spawnNode([ficus, 'contract', 'inventory', ...sides], {});
    expect(await differing.exited).toBe(1);
    expect(differing.output()).toContain('FAIL GET /api/items');
    expect(differing.output()).toContain('$.items: 1 items against 0');
  });

  it('refuses a second run, an unknown module and a bad port with exit code 2', async () => {
    const again = spawnNode([ficus, 'extract', 'inventory', '--root', repo], {});
    expect(await again.exited).toBe(2);
    expect(again.output()).toContain('services/inventory exists already');
    const unknown = spawnNode([ficus, 'extract', 'billing', '--root', repo], {});
    expect(await unknown.exited).toBe(2);
    expect(unknown.output()).toContain('no module "billing" under src/domains (modules: inventory)');
    const port = spawnNode([ficus, 'extract', 'inventory', '--port', '99999', '--root', repo], {});
    expect(await port.exited).toBe(2);
  });

  it('refuses a module that imports another module, naming the import, and extracts it with --force', async () => {
    const billing = join(repo, 'src/domains/billing');
    await mkdir(join(billing, 'http'), { recursive: true });
    await writeFile(
      join(billing, 'module.json'),
      JSON.stringify({ name: 'billing', schema: 'billing', dependsOn: ['inventory'] }),
    );
    await writeFile(join(billing, 'index.ts'), "export { billingRoutes } from './http/router.js';\n");
    await writeFile(
      join(billing, 'http/router.ts'),
      [
        "import express from 'express';",
        "import type { Knex } from 'ficus/platform';",
        "import { listItems } from '../../inventory/internal/items.js';",
        'export function billingRoutes(db: Knex): express.Router {',
        '  const router = express.Router();',
        "  router.get('/invoices', async (_req, res) => void res.json(await listItems(db)));",
        '  return router;',
        '}',
        '',
      ].join('\n'),
    );
    const refused = spawnNode([ficus, 'extract', 'billing', '--root', repo], {});
    expect(await refused.exited).toBe(2);
    expect(refused.output()).toContain('billing is not ready to extract');
    expect(refused.output()).toContain(
      'src/domains/billing/http/router.ts imports src/domains/inventory/internal/items.js',
    );
    expect(existsSync(join(repo, 'services/billing'))).toBe(false);
    const forced = spawnNode([ficus, 'extract', 'billing', '--force', '--dry-run', '--root', repo], {});
    expect(await forced.exited, forced.output()).toBe(0);
    expect(forced.output()).toContain('Would extract despite (--force)');
    expect(forced.output()).toContain('create services/billing/src/http/router.ts');
    expect(existsSync(join(repo, 'services/billing'))).toBe(false);
  });
});
