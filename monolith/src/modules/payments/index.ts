/**
 * payments — charges and refunds through a PaymentProvider adapter.
 * This file is the module's only public surface.
 */
import type { Router } from 'express';
import type { Knex, ModuleDefinition, Tokens } from '../../../../platform/src/index.js';
import { parseManifest } from '../../../../platform/src/index.js';
import { cardNumber } from './http/card-number.js';
import { paymentsRoutes } from './http/routes.js';
import { createCharge, getCharge, refundCharge, type Charge, type ChargeRequest } from './internal/charges.js';
import { skipInDryRun } from './internal/dry-run-provider.js';
import { createSandboxProvider, sandboxCards, type PaymentProvider } from './internal/provider.js';
import { migrations } from './migrations/index.js';
import manifest from './module.json' with { type: 'json' };

export type { Charge, ChargeRequest, PaymentProvider };
export { cardNumber, createSandboxProvider, sandboxCards };

export interface PaymentsApi {
  /** Succeeds or throws FICUS_ERR_PAYMENT_DECLINED / FICUS_ERR_PAYMENT_TIMEOUT (with `chargeId`). */
  charge(request: ChargeRequest): Promise<Charge>;
  refund(chargeId: string): Promise<Charge>;
  getCharge(chargeId: string): Promise<Charge>;
}

export const paymentsModule: ModuleDefinition = {
  manifest: parseManifest(manifest, 'monolith/src/modules/payments/module.json'),
  migrations,
};

export interface PaymentsDeps {
  db: Knex;
  tokens: Tokens;
  /** The real adapter; in a dry-run request it is not called (see skipInDryRun). */
  provider: PaymentProvider;
  /** How long to wait for the provider before giving up on a charge. */
  timeoutMs: number;
}

export function createPayments(deps: PaymentsDeps): { api: PaymentsApi; routes: Router } {
  const { db, timeoutMs } = deps;
  // Wrapped here, once, so no provider given to the module is ever called by a shadow request.
  const provider = skipInDryRun(deps.provider);
  return {
    api: {
      charge: (request) => createCharge(db, provider, timeoutMs, request),
      refund: (id) => refundCharge(db, provider, timeoutMs, id),
      getCharge: (id) => getCharge(db, id),
    },
    routes: paymentsRoutes({ ...deps, provider }),
  };
}
