import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, ensureDatabase, migrateSchema, withDatabase } from '../../../platform/src/index.js';
import { migrations } from '../../../monolith/src/modules/catalog/migrations/index.js';
import { seedCatalog } from '../../../monolith/src/modules/catalog/internal/seed.js';
import { createTestDatabase } from '../../kit/database.js';
import { type RunningPostgres, startEmbeddedPostgres } from '../../../tools/src/embedded-postgres.js';
import { freePort } from '../../kit/ports.js';
import { spawnNode } from '../../kit/processes.js';

/** A PostgreSQL server of its own for one describe block, started with `wal_level`. */
function ownServer(walLevel: string): { readonly url: string } {
  let base: string;
  let postgres: RunningPostgres | undefined;
  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'ficus-wal-'));
    postgres = await startEmbeddedPostgres({
      dataDir: join(base, 'data'),
      port: await freePort(),
      logFile: join(base, 'postgres.log'),
      unsafeFast: true,
      settings: { wal_level: walLevel },
    });
    for (const name of ['shop', 'shop_catalog']) await ensureDatabase(postgres.url, name);
  });
  afterAll(async () => {
    await postgres?.stop();
    await rm(base, { recursive: true, force: true });
  });
  return {
    get url() {
      return postgres!.url;
    },
  };
}

// A server as most are installed: wal_level=replica, the default, which logical replication cannot use.
describe('ficus data sync on a server without wal_level=logical', () => {
  const postgres = ownServer('replica');

  it('exits 2 saying how to set it, and creates nothing', async () => {
    const source = withDatabase(postgres.url, 'shop');
    const proc = spawnNode(['tools/bin/ficus.mjs', 'data', 'sync', 'catalog', '--source', source], {});
    expect(await proc.exited).toBe(2);
    expect(proc.output()).toContain('FICUS_ERR_DATA_SETUP');
    expect(proc.output()).toContain('wal_level');
    expect(proc.output()).toMatch(/ALTER SYSTEM SET wal_level = '?logical'?/);
    const status = spawnNode(['tools/bin/ficus.mjs', 'data', 'status', 'catalog', '--source', source, '--json'], {});
    expect(await status.exited, status.output()).toBe(0);
    expect(JSON.parse(status.output()).state).toBe('not syncing');
  });
});

describe('ficus data with the service database on a server of its own', () => {
  const postgres = ownServer('logical');

  it('replicates from the test server into this one, and stops cleanly', async () => {
    const monolith = await createTestDatabase();
    const target = withDatabase(postgres.url, 'shop_catalog');
    const service = createDb(target, { poolMax: 1, searchPath: ['catalog'] });
    const shop = createDb(monolith.url, { poolMax: 1, searchPath: ['catalog'] });
    try {
      await migrateSchema(service, { schema: 'catalog', migrations });
      await seedCatalog(shop);
      const data = (...args: string[]) =>
        spawnNode(
          ['tools/bin/ficus.mjs', 'data', ...args, 'catalog', '--source', monolith.url, '--target', target],
          {},
        );
      const sync = data('sync');
      expect(await sync.exited, sync.output()).toBe(0);
      const copied = await service('products').count<{ count: string }[]>({ count: '*' });
      const expected = await shop('products').count<{ count: string }[]>({ count: '*' });
      expect(Number(copied[0]!.count)).toBe(Number(expected[0]!.count));
      const verify = data('verify');
      expect(await verify.exited, verify.output()).toBe(0);
      const stop = data('stop');
      expect(await stop.exited, stop.output()).toBe(0);
      expect((await service.raw('SELECT 1 FROM pg_subscription')).rowCount).toBe(0);
      expect(
        (
          await shop.raw(
            "SELECT 1 FROM pg_replication_slots WHERE slot_name LIKE 'ficus_catalog_%' AND database = current_database()",
          )
        ).rowCount,
      ).toBe(0);
    } finally {
      await Promise.all([service.destroy(), shop.destroy()]);
      await monolith.drop();
    }
  });
});
