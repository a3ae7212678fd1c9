import type { Knex, Logger } from '../../../../../platform/src/index.js';
import { outcomeOf } from '../../../../../platform/src/index.js';
import type { CompensateDeps } from './compensate.js';
import { claimNext, finishPending, type PendingRow, postpone, recordPending } from './compensations.js';
import { updateOrder } from './order-repository.js';
import type { PlaceOrderDeps } from './place-order.js';

export interface RetryCompensationsDeps {
  db: Knex;
  /** The catalog as the saga calls it: releases go to whichever side writes its data now. */
  catalog: CompensateDeps['catalog'];
  /** The catalog service's API alone, where the idempotency keys of lost reservations live. */
  catalogService?: Pick<PlaceOrderDeps['catalog'], 'withIdempotencyKey'> | undefined;
  payments: CompensateDeps['payments'];
  logger: Logger;
  /** How often to look for due compensations; a failed one waits this, doubled per attempt (at most 5 min). */
  intervalMs: number;
}

/** Longest wait between two attempts of one compensation. */
const maxDelayMs = 5 * 60_000;
/**
 * A claimed step is this process's for this long (one step is a few calls with their timeouts);
 * a process that stops meanwhile leaves it to another.
 */
const leaseMs = 60_000;
/**
 * How long after the order a lost reservation is still asked about by its key: well inside the
 * catalog service's key retention (24 h by default), after which a repeat would reserve anew.
 */
const keyRepeatLimitMs = 20 * 60 * 60_000;

/** Why the job gives a step up to an operator; undefined while it is worth another attempt. */
class SetAside extends Error {}

/** A refusal that will not change by asking again (a 4xx of the method: the charge is not refundable, say). */
const definitive = (error: unknown) => outcomeOf({ status: 'rejected', reason: error }).state === 'not-applied';

/**
 * Finishes the compensations failed orders still owe (compensations.ts): refunds a charge,
 * releases a reservation, or, for a reservation whose answer was lost, asks the catalog service
 * again with the order's idempotency key (the service holds the key, whichever side writes the
 * catalog's data now) and releases what it answers where the data is written. One step at a time,
 * each leased; each attempt logged; an order that owes nothing more loses the "compensation
 * failed" of its failure code. A step the job cannot finish (refused for good; a key too old to
 * ask about; no service to ask) is set aside, logged as an error, for an operator.
 */
export function retryCompensations(deps: RetryCompensationsDeps): {
  runOnce(): Promise<number>;
  stop(): Promise<void>;
} {
  const log = deps.logger.child({ job: 'retry-compensations' });
  let running: Promise<number> | undefined;
  let stopped = false;

  async function releaseLost(row: PendingRow): Promise<void> {
    const key = row.idempotency_key!;
    if (!deps.catalogService) throw new SetAside(`no catalog service (CATALOG_SERVICE_URL) to ask about ${key}`);
    if (Date.now() - row.created_at.getTime() > keyRepeatLimitMs)
      throw new SetAside(
        `the catalog service keeps idempotency keys for 24 h: asking again with ${key} now could reserve anew`,
      );
    // The same call under the same key: the service answers what the first one did, or does it now.
    const [answer] = await Promise.allSettled([
      deps.catalogService.withIdempotencyKey(key).reserveStock(row.reserve_call!),
    ]);
    const outcome = outcomeOf(answer!);
    if (outcome.state === 'not-applied') return;
    if (outcome.state === 'unknown') throw outcome.error;
    const reservationId = outcome.value.id;
    // Known from now on: a failed release is retried by its id, with no key to ask about.
    await updateOrder(deps.db, row.order_id, { reservation_id: reservationId });
    await recordPending(deps.db, row.order_id, { step: 'release-stock', reservationId }, { delayMs: leaseMs });
    await deps.catalog.releaseReservation(reservationId);
  }

  async function perform(row: PendingRow): Promise<void> {
    try {
      if (row.step === 'refund') await deps.payments.refund(row.charge_id!);
      else if (row.reservation_id) await deps.catalog.releaseReservation(row.reservation_id);
      else await releaseLost(row);
    } catch (error) {
      if (!(error instanceof SetAside) && definitive(error))
        throw new SetAside(`refused: ${error instanceof Error ? error.message : String(error)}`);
      throw error;
    }
  }

  async function runOnce(): Promise<number> {
    let done = 0;
    while (!stopped) {
      const row = await claimNext(deps.db, leaseMs);
      if (!row) break;
      done++;
      const about = { orderId: row.order_id, step: row.step, attempt: row.attempts };
      try {
        await perform(row);
        await finishPending(deps.db, row.order_id, row.step);
        log.info(about, 'compensation finished');
      } catch (error) {
        if (error instanceof SetAside) {
          const reason =
            `${error.message}; finish it by hand (docs/remote-api.md, the retry job)` +
            (row.step === 'release-stock' ? `: release the held reservations whose reference is ${row.order_id}` : '');
          log.error(
            { ...about, idempotencyKey: row.idempotency_key ?? undefined },
            `compensation set aside: ${reason}`,
          );
          await postpone(deps.db, row.id, 'never', reason).catch((failure: unknown) =>
            log.error({ err: failure }, 'could not record the set-aside compensation'),
          );
          continue;
        }
        const delayMs = Math.min(deps.intervalMs * 2 ** (row.attempts - 1), maxDelayMs);
        const message = error instanceof Error ? error.message : String(error);
        log.warn({ ...about, err: error, retryInMs: delayMs }, 'compensation failed again; it will be retried');
        await postpone(deps.db, row.id, delayMs, message).catch((failure: unknown) =>
          log.error({ err: failure }, 'could not record the failed attempt'),
        );
      }
    }
    return done;
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
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
