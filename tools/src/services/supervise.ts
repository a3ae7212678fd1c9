import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface SupervisedOptions {
  name: string;
  command: string;
  args: readonly string[];
  env: Record<string, string | undefined>;
  /** Its base URL; `/readyz` there says it is up. */
  url: string;
  /** Where its output lines (prefixed with its name) and the supervisor's own lines go. */
  say: (line: string) => void;
  /** Restart delays grow from this, doubling up to `maxBackoffMs`; reset once it has run for a minute. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

const stableAfterMs = 60_000;

/**
 * Runs a service as a child process and restarts it when it exits on its own, with a growing
 * delay, so a crash costs the demo a few seconds of fallback to the monolith, not the service.
 * A supervisor holds a process and its restart timer: state and lifecycle together, so a class.
 */
export class SupervisedProcess {
  #child: ChildProcess | undefined;
  #stopping = false;
  #backoff: number;
  #timer: NodeJS.Timeout | undefined;
  #startedAt = 0;

  constructor(readonly options: SupervisedOptions) {
    this.#backoff = options.minBackoffMs ?? 500;
    this.#spawn();
  }

  /** The pid of the process running now, if one is. */
  get pid(): number | undefined {
    return this.#child?.exitCode === null ? this.#child.pid : undefined;
  }

  #spawn(): void {
    const { name, command, args, env, say } = this.options;
    const restart = this.#child !== undefined;
    const child = spawn(command, [...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    if (restart && child.pid) say(`ficus: ${name} restarted (pid ${child.pid})`);
    this.#startedAt = Date.now();
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => say(`[${name}] ${line}`));
    }
    child.on('error', (error) => say(`ficus: ${name}: cannot start ${command}: ${error.message}`));
    child.on('exit', (code, signal) => {
      if (this.#stopping) return;
      if (Date.now() - this.#startedAt > stableAfterMs) this.#backoff = this.options.minBackoffMs ?? 500;
      const delay = this.#backoff;
      this.#backoff = Math.min(delay * 2, this.options.maxBackoffMs ?? 10_000);
      say(
        `ficus: ${name} exited (${signal ?? `code ${code}`}); the router falls back to the monolith; ` +
          `restarting in ${(delay / 1000).toFixed(1)} s`,
      );
      this.#timer = setTimeout(() => this.#spawn(), delay);
    });
  }

  /** Resolves once `/readyz` answers 200, or false after `timeoutMs`. */
  async ready(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && !this.#stopping) {
      const ok = await fetch(`${this.options.url}/readyz`, { signal: AbortSignal.timeout(1000) }).then(
        (response) => response.ok,
        () => false,
      );
      if (ok) return true;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return false;
  }

  /** SIGTERM (the service drains), SIGKILL after `graceMs`; no restart afterwards. */
  async stop(graceMs = 10_000): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#timer);
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(kill);
  }
}
