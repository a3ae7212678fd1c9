import type { RequestHandler } from 'express';
import { FicusError } from '../errors.js';
import { sendProblem } from './problem.js';

/**
 * A named dependency check for /readyz; it throws (or rejects) when the dependency is not
 * usable, and may resolve with a note when it is usable but degraded (still ready).
 */
export interface ReadinessCheck {
  name: string;
  check(): Promise<void | string>;
}

/** Liveness: the process is up and its event loop answers. */
export const healthz: RequestHandler = (_req, res) => {
  res.json({ status: 'ok' });
};

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Readiness: every dependency answers within `timeoutMs`; 503 names the ones that did not. */
export function readyz(checks: readonly ReadinessCheck[], timeoutMs = 2000): RequestHandler {
  return async (req, res) => {
    const results = await Promise.all(
      checks.map(async ({ name, check }) => {
        try {
          const note = await withTimeout(check(), timeoutMs);
          return { name, ok: true as const, ...(note ? { note } : {}) };
        } catch (error) {
          return { name, ok: false as const, error: (error as Error).message };
        }
      }),
    );
    const failed = results.filter((result) => !result.ok);
    if (failed.length === 0) {
      const degraded = results.some((r) => 'note' in r);
      const checks = Object.fromEntries(results.map((r) => [r.name, 'note' in r ? `degraded: ${r.note}` : 'ok']));
      res.json({ status: degraded ? 'degraded' : 'ready', checks });
      return;
    }
    const detail = failed.map((f) => `${f.name}: ${f.error}`).join('; ');
    sendProblem(
      req,
      res,
      new FicusError('FICUS_ERR_NOT_READY', `not ready: ${detail}`, {
        extensions: { checks: Object.fromEntries(results.map((r) => [r.name, r.ok ? 'ok' : r.error])) },
      }),
    );
  };
}
