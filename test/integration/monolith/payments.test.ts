import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxCards } from '../../../monolith/src/modules/payments/index.js';
import { startTestMonolith, type TestMonolith } from '../../kit/monolith.js';

let t: TestMonolith;
let admin: string;
beforeAll(async () => {
  t = await startTestMonolith();
  admin = await t.token('admin');
});
afterAll(() => t.close());

const charge = (card: string) =>
  request(t.app)
    .post('/api/v1/payments/charges')
    .set('authorization', `Bearer ${admin}`)
    .send({ reference: 'r-1', amountCents: 1500, currency: 'EUR', card: { number: card } });

describe('payments HTTP API against the sandbox provider', () => {
  it('charges an approved card and refunds it once', async () => {
    const res = await charge(sandboxCards.approved).expect(201);
    expect(res.body).toMatchObject({ status: 'succeeded', amountCents: 1500, cardLast4: '4242' });
    const refunded = await request(t.app)
      .post(`/api/v1/payments/charges/${res.body.id}/refund`)
      .set('authorization', `Bearer ${admin}`)
      .expect(200);
    expect(refunded.body.status).toBe('refunded');
  });

  it('records a declined card and answers 402 with the charge id', async () => {
    const res = await charge(sandboxCards.declined).expect(402);
    expect(res.body).toMatchObject({ code: 'FICUS_ERR_PAYMENT_DECLINED', reason: 'card_declined' });
    const stored = await request(t.app)
      .get(`/api/v1/payments/charges/${res.body.chargeId}`)
      .set('authorization', `Bearer ${admin}`)
      .expect(200);
    expect(stored.body.status).toBe('declined');
    const refund = await request(t.app)
      .post(`/api/v1/payments/charges/${res.body.chargeId}/refund`)
      .set('authorization', `Bearer ${admin}`)
      .expect(409);
    expect(refund.body.detail).toContain('declined');
  });

  it('gives up on a provider that does not answer within PAYMENT_TIMEOUT_MS (504) and records it', async () => {
    const started = Date.now();
    const res = await charge(sandboxCards.timeout).expect(504);
    // The test configuration sets 300 ms; the default is 3,000.
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(Date.now() - started).toBeLessThan(2500);
    expect(res.body.code).toBe('FICUS_ERR_PAYMENT_TIMEOUT');
    const stored = await request(t.app)
      .get(`/api/v1/payments/charges/${res.body.chargeId}`)
      .set('authorization', `Bearer ${admin}`)
      .expect(200);
    expect(stored.body.status).toBe('timed_out');
  });

  it('rejects a card number with a wrong check digit before asking the provider', async () => {
    const res = await charge('4242424242424241').expect(400);
    expect(res.body.errors).toEqual([
      { pointer: '/card/number', detail: 'the check digit is wrong; check the card number' },
    ]);
    const count = await t.monolith.dbs.get('payments')!('charges').where({ card_last4: '4241' }).count({ n: '*' });
    expect(Number(count[0]!['n'])).toBe(0);
  });
});
