import { describe, expect, it } from 'vitest';
import { cardNumber, createSandboxProvider, sandboxCards } from '../../../monolith/src/modules/payments/index.js';

const request = (number: string) => ({ amountCents: 100, currency: 'EUR', cardNumber: number, idempotencyKey: 'k1' });

describe('sandbox payment provider', () => {
  const provider = createSandboxProvider({ slowMs: 20 });

  it('approves the approved card and any other valid number', async () => {
    await expect(provider.charge(request(sandboxCards.approved), AbortSignal.timeout(1000))).resolves.toEqual({
      outcome: 'approved',
      providerRef: 'sandbox_k1',
    });
    await expect(provider.charge(request('5555555555554444'), AbortSignal.timeout(1000))).resolves.toMatchObject({
      outcome: 'approved',
    });
  });

  it('declines the declined and insufficient-funds cards with their reasons', async () => {
    await expect(provider.charge(request(sandboxCards.declined), AbortSignal.timeout(1000))).resolves.toEqual({
      outcome: 'declined',
      reason: 'card_declined',
    });
    await expect(provider.charge(request(sandboxCards.insufficientFunds), AbortSignal.timeout(1000))).resolves.toEqual({
      outcome: 'declined',
      reason: 'insufficient_funds',
    });
  });

  it('never answers for the timeout card until the caller gives up', async () => {
    await expect(provider.charge(request(sandboxCards.timeout), AbortSignal.timeout(30))).rejects.toThrow();
  });

  it('answers the slow card after its delay', async () => {
    const started = Date.now();
    await expect(provider.charge(request(sandboxCards.slow), AbortSignal.timeout(1000))).resolves.toMatchObject({
      outcome: 'approved',
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
  });
});

describe('card number validation', () => {
  it('accepts every sandbox card and strips spaces', () => {
    for (const number of Object.values(sandboxCards)) expect(cardNumber.safeParse(number).success, number).toBe(true);
    expect(cardNumber.parse('4242 4242 4242 4242')).toBe('4242424242424242');
  });

  it('rejects a wrong check digit and non-digits', () => {
    expect(cardNumber.safeParse('4242424242424241').error?.issues[0]?.message).toBe(
      'the check digit is wrong; check the card number',
    );
    expect(cardNumber.safeParse('4242-4242').error?.issues[0]?.message).toBe('expected 12 to 19 digits');
  });
});
