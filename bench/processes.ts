import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { freePort } from '../test/kit/ports.js';

// With two or more cores and taskset (util-linux), the process under test gets core 1 to itself
// while the load generator and the upstreams share core 0: it is measured on one core, as the
// targets are stated, and stops stealing time from the generator.
export const pinning = availableParallelism() >= 2 && spawnSync('taskset', ['-V']).status === 0;
if (pinning) spawnSync('taskset', ['-cp', '0', String(process.pid)]);

/** `command` run on `core` when pinning is possible (taskset execs it, so the pid stays the program's). */
export const pinned = (core: number, command: string[]) =>
  pinning ? ['taskset', '-c', String(core), ...command] : command;

const children: ChildProcess[] = [];

/**
 * Starts one of bench/servers.ts's servers (`args[0]` is its kind) on a free port and `core`,
 * once it says it listens; with `ipc`, the parent can ask it for counts.
 */
export async function startServer(
  args: string[],
  core: number,
  options: { ipc?: boolean } = {},
): Promise<{ url: string; pid: number; child: ChildProcess }> {
  const port = await freePort();
  const [command, ...rest] = pinned(core, [
    process.execPath,
    '--import',
    'tsx',
    'bench/servers.ts',
    args[0]!,
    String(port),
    ...args.slice(1),
  ]);
  const child = spawn(command!, rest, {
    stdio: options.ipc ? ['ignore', 'pipe', 'inherit', 'ipc'] : ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('listening')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, pid: child.pid!, child };
}

/** Stops every server this run started. */
export function stopServers(): void {
  for (const child of children) child.kill('SIGTERM');
}
