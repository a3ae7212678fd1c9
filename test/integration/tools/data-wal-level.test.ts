import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDatabase, withDatabase } from '../../../platform/src/index.js';
import { type RunningPostgres, startEmbeddedPostgres } from '../../../tools/src/embedded-postgres.js';
import { freePort } from '../../kit/ports.js';
import { spawnNode } from '../../kit/processes.js';

// A server as most are installed: wal_level=replica, the default, which logical replication cannot use.
describe('ficus data sync on a server without wal_level=logical', () => {
  let base: string;
  let postgres: RunningPostgres;

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'ficus-wal-'));
    postgres = await startEmbeddedPostgres({
      dataDir: join(base, 'data'),
      port: await freePort(),
      logFile: join(base, 'postgres.log'),
      unsafeFast: true,
      settings: { wal_level: 'replica' },
    });
    for (const name of ['shop', 'shop_catalog']) await ensureDatabase(postgres.url, name);
  });

  afterAll(async () => {
    await postgres?.stop();
    await rm(base, { recursive: true, force: true });
  });

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
