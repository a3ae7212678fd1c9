import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../../tools/src/embedded-postgres.js';
import { freePort } from './ports.js';

declare module 'vitest' {
  interface ProvidedContext {
    /** Superuser URL of the test server's `postgres` database. */
    adminUrl: string;
  }
}

/** One real PostgreSQL for the whole run: embedded, unless DATABASE_URL points at a server. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env['DATABASE_URL']) {
    project.provide('adminUrl', process.env['DATABASE_URL']);
    return async () => {};
  }
  const base = await mkdtemp(join(tmpdir(), 'ficus-test-pg-'));
  const postgres = await startEmbeddedPostgres({
    dataDir: join(base, 'data'),
    port: await freePort(),
    logFile: join(base, 'postgres.log'),
    unsafeFast: true,
  });
  project.provide('adminUrl', postgres.url);
  return async () => {
    await postgres.stop();
    await rm(base, { recursive: true, force: true });
  };
}
