import type { Knex } from '../../../../../platform/src/index.js';
import { FicusError } from '../../../../../platform/src/index.js';
import type { PaymentProvider, ProviderOutcome } from './provider.js';

type ChargeStatus = 'pending' | 'succeeded' | 'declined' | 'timed_out' | 'refunded';

export interface Charge {
  id: string;
  reference: string;
  amountCents: number;
  currency: string;
  cardLast4: string;
  status: ChargeStatus;
  failureReason: string | null;
}

export interface ChargeRequest {
  /** The caller's id for what is paid, e.g. an order id. */
  reference: string;
  amountCents: number;
  currency: string;
  cardNumber: string;
}

interface ChargeRow {
  id: string;
  reference: string;
  amount_cents: number;
  currency: string;
  card_last4: string;
  status: ChargeStatus;
  provider_ref: string | null;
  failure_reason: string | null;
}

function toCharge(row: ChargeRow): Charge {
  return {
    id: row.id,
    reference: row.reference,
    amountCents: row.amount_cents,
    currency: row.currency,
    cardLast4: row.card_last4,
    status: row.status,
    failureReason: row.failure_reason,
  };
}

async function update(db: Knex, id: string, changes: Partial<ChargeRow>): Promise<Charge> {
  const [row] = await db('charges')
    .where({ id })
    .update({ ...changes, updated_at: db.fn.now() })
    .returning<ChargeRow[]>('*');
  return toCharge(row!);
}

/**
 * Records the attempt first, then asks the provider within `timeoutMs`. Every outcome is
 * stored; declines and timeouts throw with the charge id so callers can compensate.
 */
export async function createCharge(
  db: Knex,
  provider: PaymentProvider,
  timeoutMs: number,
  request: ChargeRequest,
): Promise<Charge> {
  const [row] = await db('charges')
    .insert({
      reference: request.reference,
      amount_cents: request.amountCents,
      currency: request.currency,
      card_last4: request.cardNumber.slice(-4),
      status: 'pending',
    })
    .returning<ChargeRow[]>('*');
  const id = row!.id;
  let outcome: ProviderOutcome;
  try {
    outcome = await provider.charge({ ...request, idempotencyKey: id }, AbortSignal.timeout(timeoutMs));
  } catch (error) {
    await update(db, id, { status: 'timed_out', failure_reason: 'provider_timeout' });
    throw new FicusError(
      'FICUS_ERR_PAYMENT_TIMEOUT',
      `the payment provider did not answer within ${timeoutMs} ms; the attempt was abandoned, try again`,
      {
        extensions: { chargeId: id },
        cause: error,
      },
    );
  }
  if (outcome.outcome === 'declined') {
    await update(db, id, { status: 'declined', failure_reason: outcome.reason });
    throw new FicusError('FICUS_ERR_PAYMENT_DECLINED', `the card was declined (${outcome.reason}); use another card`, {
      extensions: { chargeId: id, reason: outcome.reason },
    });
  }
  return update(db, id, { status: 'succeeded', provider_ref: outcome.providerRef });
}

export async function getCharge(db: Knex, id: string): Promise<Charge> {
  const row = await db('charges').where({ id }).first<ChargeRow | undefined>();
  if (!row) throw new FicusError('FICUS_ERR_NOT_FOUND', `charge ${id} does not exist`);
  return toCharge(row);
}

export async function refundCharge(
  db: Knex,
  provider: PaymentProvider,
  timeoutMs: number,
  id: string,
): Promise<Charge> {
  const row = await db('charges').where({ id }).first<ChargeRow | undefined>();
  if (!row) throw new FicusError('FICUS_ERR_NOT_FOUND', `charge ${id} does not exist`);
  if (row.status === 'refunded') return toCharge(row);
  if (row.status !== 'succeeded' || !row.provider_ref) {
    throw new FicusError('FICUS_ERR_CONFLICT', `charge ${id} is ${row.status}; only succeeded charges can be refunded`);
  }
  await provider.refund(row.provider_ref, AbortSignal.timeout(timeoutMs));
  return update(db, id, { status: 'refunded' });
}
