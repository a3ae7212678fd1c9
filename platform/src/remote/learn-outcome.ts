import { setTimeout as sleep } from 'node:timers/promises';
import { FicusError } from '../errors.js';

/** What is known of a write after asking the service again with its idempotency key. */
export type WriteOutcome<T> =
  /** The service did it (the first time, or on this repeat): `value` is its answer. */
  | { state: 'applied'; value: T }
  /** The service answered that the write did nothing (a 4xx of the method, e.g. insufficient stock). */
  | { state: 'not-applied'; error: unknown }
  /** Still no definitive answer: the service may or may not hold the effect. */
  | { state: 'unknown'; error: unknown };

export interface LearnOutcomeOptions {
  /** Repeats at most. Default 3. */
  attempts?: number;
  /** Wait before the first repeat, doubled before each next one (half of it jittered). Default 250. */
  backoffMs?: number;
}

/** Whether a failed write may have been applied: the remote client could not learn its outcome. */
export function isOutcomeUnknown(error: unknown): error is FicusError {
  return error instanceof FicusError && error.extensions?.['maybeApplied'] === true;
}

/**
 * Refusals that say nothing about the first call: the key's own (still running; used for another
 * method, which no caller means), and access refused (401, 403, FICUS_ERR_API_UNAUTHORIZED). A
 * refused repeat did nothing, since the token is checked before the key is looked up; but the
 * first call may have got in before the tokens changed (the service redeployed with a new
 * INTERNAL_API_TOKEN, the caller not yet), so "not applied" could leave its effect uncompensated.
 * Every other 4xx the same request met the first time too.
 */
const sayNothing = new Set([
  'FICUS_ERR_IDEMPOTENCY_IN_PROGRESS',
  'FICUS_ERR_IDEMPOTENCY_KEY_REUSED',
  'FICUS_ERR_API_UNAUTHORIZED',
]);

/**
 * What one answer to a repeat with the key says. A result: applied (the service replays the first
 * call's answer, or does it now because the first never took effect). A problem below 500 from the
 * API's method: not applied, since the service stores definitive answers under the key and its
 * transaction leaves nothing of a failed method. Anything else (no answer, 5xx): still unknown.
 */
export function outcomeOf<T>(answer: PromiseSettledResult<T>): WriteOutcome<T> {
  if (answer.status === 'fulfilled') return { state: 'applied', value: answer.value };
  const error: unknown = answer.reason;
  const definitive =
    error instanceof FicusError &&
    error.status < 500 &&
    error.status !== 401 &&
    error.status !== 403 &&
    !sayNothing.has(error.code) &&
    !isOutcomeUnknown(error);
  return definitive ? { state: 'not-applied', error } : { state: 'unknown', error };
}

/**
 * Repeats a write whose outcome is unknown (the same call on a view made by `withIdempotencyKey`
 * with its key) until the service says what it did, a few times with a growing wait: for a
 * caller that must compensate what the service may hold, or may not.
 * @example const outcome = await learnOutcome(() => catalog.withIdempotencyKey(key).reserveStock(request));
 */
export async function learnOutcome<T>(
  repeat: () => Promise<T>,
  options: LearnOutcomeOptions = {},
): Promise<WriteOutcome<T>> {
  const attempts = options.attempts ?? 3;
  const backoffMs = options.backoffMs ?? 250;
  let outcome: WriteOutcome<T> = { state: 'unknown', error: undefined };
  for (let attempt = 0; attempt < attempts; attempt++) {
    const step = backoffMs * 2 ** attempt;
    // Callers whose answers were lost together ask again apart.
    await sleep(step / 2 + (Math.random() * step) / 2);
    const [answer] = await Promise.allSettled([repeat()]);
    outcome = outcomeOf(answer!);
    if (outcome.state !== 'unknown') return outcome;
  }
  return outcome;
}
