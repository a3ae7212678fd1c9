import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface Spawned {
  child: ChildProcess;
  /** Everything the process wrote so far, stdout and stderr interleaved. */
  output(): string;
  /** Resolves with the exit code (or the signal's name) once the process ended. */
  exited: Promise<number | string>;
}

/** Starts a real node process (in the repository root unless `cwd` says otherwise) with a clean environment plus `env`. */
export function spawnNode(args: string[], env: Record<string, string | undefined>, cwd = repoRoot): Spawned {
  return spawnProgram(process.execPath, args, env, cwd);
}

/** Like spawnNode, for any program (npm, a package's bin) found on PATH or by its path. */
export function spawnProgram(
  command: string,
  args: string[],
  env: Record<string, string | undefined>,
  cwd = repoRoot,
): Spawned {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !['DATABASE_URL', 'PORT', 'NODE_OPTIONS'].includes(key)),
  );
  const child = spawn(command, args, { cwd, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  // 'close', not 'exit': only then has all of the output been read.
  const exited = once(child, 'close').then(([code, signal]) => (code ?? signal) as number | string);
  return { child, output: () => text, exited };
}

/** Polls `probe` every `intervalMs` until it returns a value, or fails after `timeoutMs` saying what it waited for. */
export async function waitFor<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  describe: () => string,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms\n${describe()}`);
}
