import type { Knex, Logger } from '../../../../../platform/src/index.js';
import { outcomeOf } from '../../../../../platform/src/index.js';
import type { CompensateDeps } from './compensate.js';
import { claimDue, finishPending, type PendingRow, postpone, setAside } from './compensations.js';
import { updateOrder } from './order-repository.js';
import type { SagaCatalog } from './place-order.js';

export interface RetryCompensationsDeps {
  db: Knex;
  catalog: SagaCatalog;
  payments: CompensateDeps['payments'];
  logger: Logger;
  /** How often to look for due compensations; a failed one waits this, doubled per attempt (at most 5 min). */
  intervalMs: number;
}

/** Longest wait between two attempts of one compensation. */
const maxDelayMs = 5 * 60_000;
/** A claimed step is this process's for this long; a process that stops meanwhile leaves it to another. */
const leaseMs = 60_000;
const batch = 20;
/**
 * How long after the order a lost reservation is still asked about by its key: well inside the
 * catalog service's key retention (24 h by default), after which a repeat would reserve anew.
 */
const keyRepeatLimitMs = 20 * 60 * 60_000;

/**
 * Finishes the compensations failed orders still owe (compensations.ts): refunds a charge,
 * releases a reservation, or, for a reservation whose answer was lost, asks the catalog again
 * with the order's idempotency key and releases what it answers. Each attempt is logged; an order
 * that owes nothing more loses the "compensation failed" of its failure code. Every step is
 * idempotent on the other side (a released reservation or a refunded charge stays as it is), so
 * a step run again after a crash does no harm.
 */
export function retryCompensations(deps: RetryCompensationsDeps): {
  runOnce(): Promise<number>;
  stop(): Promise<void>;
} {
  const log = deps.logger.child({ job: 'retry-compensations' });
  let running: Promise<number> | undefined;

  async function perform(row: PendingRow): Promise<void> {
    if (row.step === 'refund') return void (await deps.payments.refund(row.charge_id!));
    if (row.reservation_id) return deps.catalog.releaseReservation(row.reservation_id);
    // The same call under the same key: the catalog answers what the first one did, or does it now.
    const [answer] = await Promise.allSettled([
      deps.catalog.withIdempotencyKey(row.idempotency_key!).reserveStock(row.reserve_call!),
    ]);
    const outcome = outcomeOf(answer!);
    if (outcome.state === 'not-applied') return;
    if (outcome.state === 'unknown') throw outcome.error;
    await updateOrder(deps.db, row.order_id, { reservation_id: outcome.value.id });
    await deps.catalog.releaseReservation(outcome.value.id);
  }

  async function runOnce(): Promise<number> {
    const due = await claimDue(deps.db, { limit: batch, leaseMs });
    for (const row of due) {
      const about = { orderId: row.order_id, step: row.step, attempt: row.attempts };
      try {
        if (row.idempotency_key && !row.reservation_id && Date.now() - row.created_at.getTime() > keyRepeatLimitMs) {
          const reason =
            `the catalog service keeps idempotency keys for 24 h: asking again with ${row.idempotency_key} now could ` +
            `reserve anew; release by hand the held reservations whose reference is ${row.order_id}`;
          log.error({ ...about, idempotencyKey: row.idempotency_key }, `compensation set aside: ${reason}`);
          await setAside(deps.db, row.id, reason);
          continue;
        }
        await perform(row);
        await finishPending(deps.db, row.order_id, row.step);
        log.info(about, 'compensation finished');
      } catch (error) {
        const delayMs = Math.min(deps.intervalMs * 2 ** (row.attempts - 1), maxDelayMs);
        const message = error instanceof Error ? error.message : String(error);
        log.warn({ ...about, err: error, retryInMs: delayMs }, 'compensation failed again; it will be retried');
        await postpone(deps.db, row.id, delayMs, message).catch((failure: unknown) =>
          log.error({ err: failure }, 'could not record the failed attempt'),
        );
      }
    }
    return due.length;
  }

  const tick = () => {
    if (running) return;
    running = runOnce()
      .catch((error: unknown) => {
        log.error({ err: error }, 'could not look for compensations to retry');
        return 0;
      })
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(tick, deps.intervalMs);
  timer.unref();
  return {
    runOnce,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
