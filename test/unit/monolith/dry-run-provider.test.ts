import { describe, expect, it } from 'vitest';
import type { PaymentProvider } from '../../../monolith/src/modules/payments/index.js';
import { skipInDryRun } from '../../../monolith/src/modules/payments/internal/dry-run-provider.js';
import { runInDryRun } from '../../../platform/src/request-context.js';

const charge = { amountCents: 100, currency: 'EUR', cardNumber: '4000000000000002', idempotencyKey: 'k1' };

function recordingProvider() {
  const calls: string[] = [];
  const provider: PaymentProvider = {
    async charge() {
      calls.push('charge');
      return { outcome: 'declined', reason: 'card_declined' };
    },
    async refund() {
      calls.push('refund');
    },
  };
  return { provider: skipInDryRun(provider), calls };
}

describe('the payment provider in dry-run', () => {
  it('is not called in a dry-run request: a charge is approved as the sandbox approves, a refund is a no-op', async () => {
    const { provider, calls } = recordingProvider();
    const signal = AbortSignal.timeout(1000);
    const outcome = await runInDryRun(new Map(), async () => {
      const approved = await provider.charge(charge, signal);
      await provider.refund('sandbox_k0', signal);
      return approved;
    });
    expect(outcome).toEqual({ outcome: 'approved', providerRef: 'dry_run_k1' });
    expect(calls).toEqual([]);
  });

  it('is the provider itself outside dry-run', async () => {
    const { provider, calls } = recordingProvider();
    const signal = AbortSignal.timeout(1000);
    await expect(provider.charge(charge, signal)).resolves.toEqual({ outcome: 'declined', reason: 'card_declined' });
    await provider.refund('sandbox_k0', signal);
    expect(calls).toEqual(['charge', 'refund']);
  });
});
