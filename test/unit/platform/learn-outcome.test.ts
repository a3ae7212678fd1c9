import { describe, expect, it } from 'vitest';
import { FicusError, isOutcomeUnknown, learnOutcome, outcomeOf } from '../../../platform/src/index.js';

const lost = () =>
  new FicusError('FICUS_ERR_UPSTREAM_UNAVAILABLE', 'the connection broke after sending', {
    extensions: { api: 'catalog', method: 'reserveStock', idempotencyKey: 'k', maybeApplied: true },
  });
const refused = (code: ConstructorParameters<typeof FicusError>[0], status?: number) =>
  ({ status: 'rejected', reason: new FicusError(code, 'refused', status ? { status } : {}) }) as const;

describe('isOutcomeUnknown', () => {
  it('is true only for a failure the remote client marked maybeApplied', () => {
    expect(isOutcomeUnknown(lost())).toBe(true);
    const neverSent = new FicusError('FICUS_ERR_UPSTREAM_UNAVAILABLE', 'refused', {
      extensions: { maybeApplied: false },
    });
    expect(isOutcomeUnknown(neverSent)).toBe(false);
    expect(isOutcomeUnknown(new FicusError('FICUS_ERR_INSUFFICIENT_STOCK', 'none left'))).toBe(false);
    expect(isOutcomeUnknown(new Error('boom'))).toBe(false);
  });
});

describe('outcomeOf a repeat with the key', () => {
  it('calls a result applied: the service replayed it, or did it now', () => {
    expect(outcomeOf({ status: 'fulfilled', value: { id: 'r1' } })).toEqual({ state: 'applied', value: { id: 'r1' } });
  });

  it('calls a problem of the method below 500 not applied: the service stored that answer and kept nothing of it', () => {
    for (const code of ['FICUS_ERR_INSUFFICIENT_STOCK', 'FICUS_ERR_UNKNOWN_REFERENCE', 'FICUS_ERR_CONFLICT'] as const) {
      expect(outcomeOf(refused(code)).state, code).toBe('not-applied');
    }
  });

  it('keeps it unknown for no answer, a 5xx, the key still running or used elsewhere, and access refused', () => {
    expect(outcomeOf({ status: 'rejected', reason: lost() }).state).toBe('unknown');
    expect(outcomeOf({ status: 'rejected', reason: new Error('socket hang up') }).state).toBe('unknown');
    for (const code of [
      'FICUS_ERR_INTERNAL',
      'FICUS_ERR_SHUTTING_DOWN',
      'FICUS_ERR_IDEMPOTENCY_IN_PROGRESS',
      'FICUS_ERR_IDEMPOTENCY_KEY_REUSED',
      'FICUS_ERR_UNAUTHORIZED',
      'FICUS_ERR_FORBIDDEN',
    ] as const) {
      expect(outcomeOf(refused(code)).state, code).toBe('unknown');
    }
  });

  it('keeps it unknown when the service refuses the token: the repeat did nothing, the first call may have got in', () => {
    // As the remote client reports it (502 to its own clients), and as the service answers it.
    for (const status of [502, 401]) {
      expect(outcomeOf(refused('FICUS_ERR_API_UNAUTHORIZED', status)).state, String(status)).toBe('unknown');
    }
  });
});

describe('learnOutcome', () => {
  it('asks again until a definitive answer and returns it', async () => {
    let calls = 0;
    const outcome = await learnOutcome(
      async () => {
        calls++;
        if (calls < 3) throw lost();
        return { id: 'r1' };
      },
      { attempts: 5, backoffMs: 1 },
    );
    expect(outcome).toEqual({ state: 'applied', value: { id: 'r1' } });
    expect(calls).toBe(3);
  });

  it('stops at a refusal: nothing was held', async () => {
    let calls = 0;
    const outcome = await learnOutcome(
      async () => {
        calls++;
        throw new FicusError('FICUS_ERR_INSUFFICIENT_STOCK', 'none left');
      },
      { attempts: 5, backoffMs: 1 },
    );
    expect(outcome.state).toBe('not-applied');
    expect(calls).toBe(1);
  });

  it('gives up after its attempts, unknown, with the last failure', async () => {
    let calls = 0;
    const last = lost();
    const outcome = await learnOutcome(
      async () => {
        calls++;
        throw calls === 2 ? last : lost();
      },
      { attempts: 2, backoffMs: 1 },
    );
    expect(outcome).toEqual({ state: 'unknown', error: last });
    expect(calls).toBe(2);
  });
});
