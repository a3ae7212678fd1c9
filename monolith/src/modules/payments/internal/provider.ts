/** The port a real payment provider (Stripe, Adyen...) is adapted to. */
export interface PaymentProvider {
  /** Resolves with the outcome; rejects when `signal` aborts (the caller's timeout). */
  charge(
    request: { amountCents: number; currency: string; cardNumber: string; idempotencyKey: string },
    signal: AbortSignal,
  ): Promise<ProviderOutcome>;
  refund(providerRef: string, signal: AbortSignal): Promise<void>;
}

export type ProviderOutcome = { outcome: 'approved'; providerRef: string } | { outcome: 'declined'; reason: string };

/** Card numbers with fixed behaviour in the sandbox; every other valid number is approved at once. */
export const sandboxCards = {
  approved: '4242424242424242',
  declined: '4000000000000002',
  insufficientFunds: '4000000000009995',
  /** Never answers: the charge times out. */
  timeout: '4000000000000259',
  /** Approved after `slowMs` (1 s by default): a request that stays in flight for a while. */
  slow: '4000000000000077',
} as const;

function abortable(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = Number.isFinite(ms) ? setTimeout(resolve, ms) : undefined;
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

/** A deterministic provider for development and tests: its behaviour depends on the card number only. */
export function createSandboxProvider(options: { slowMs?: number } = {}): PaymentProvider {
  const slowMs = options.slowMs ?? 1000;
  return {
    async charge(request, signal) {
      switch (request.cardNumber) {
        case sandboxCards.declined:
          return { outcome: 'declined', reason: 'card_declined' };
        case sandboxCards.insufficientFunds:
          return { outcome: 'declined', reason: 'insufficient_funds' };
        case sandboxCards.timeout:
          await abortable(Number.POSITIVE_INFINITY, signal);
          break;
        case sandboxCards.slow:
          await abortable(slowMs, signal);
          break;
      }
      return { outcome: 'approved', providerRef: `sandbox_${request.idempotencyKey}` };
    },
    async refund() {},
  };
}

/** Luhn check digit validation, so typos fail before reaching a provider. */
export function isLuhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let digit = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}
