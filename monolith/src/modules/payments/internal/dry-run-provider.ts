import { isDryRun } from '../../../../../platform/src/index.js';
import type { PaymentProvider, ProviderOutcome } from './provider.js';

/**
 * `provider`, except in a dry-run request (a shadow request the router signed), where nothing
 * reaches it: a charge is approved, shaped as the sandbox approves one, and a refund does nothing.
 * The charge row is still written, in the request's transaction that the chassis rolls back.
 */
export function skipInDryRun(provider: PaymentProvider): PaymentProvider {
  return {
    charge(request, signal) {
      if (!isDryRun()) return provider.charge(request, signal);
      const simulated: ProviderOutcome = { outcome: 'approved', providerRef: `dry_run_${request.idempotencyKey}` };
      return Promise.resolve(simulated);
    },
    refund(providerRef, signal) {
      return isDryRun() ? Promise.resolve() : provider.refund(providerRef, signal);
    },
  };
}
