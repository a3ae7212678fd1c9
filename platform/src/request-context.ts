import { AsyncLocalStorage } from 'node:async_hooks';
import type { Knex } from 'knex';

/** What the chassis knows about the request whose code is running now. */
interface RequestContext {
  /** Set in a signed shadow request: the open transaction of each registered knex, to be rolled back. */
  dryRun?: { transactions: ReadonlyMap<Knex, Knex.Transaction> };
}

// Carried through promises and awaits, so ports deep in a module need no request parameter.
const storage = new AsyncLocalStorage<RequestContext>();

/**
 * True while a signed shadow request runs: a port with effects outside the database (a payment
 * provider, a message broker) must then simulate them instead of causing them.
 * @example if (isDryRun()) return { outcome: 'approved', providerRef: `dry_run_${key}` };
 */
export function isDryRun(): boolean {
  return storage.getStore()?.dryRun !== undefined;
}

/** Runs `fn` (and everything it starts) as a dry-run request over these transactions. */
export function runInDryRun<T>(transactions: ReadonlyMap<Knex, Knex.Transaction>, fn: () => T): T {
  return storage.run({ dryRun: { transactions } }, fn);
}

/**
 * In a dry-run request, that request's transaction on `knex`, or `null` when it has none; outside
 * one, `undefined`: the caller then uses `knex` itself.
 */
export function dryRunTransaction(knex: Knex): Knex.Transaction | null | undefined {
  const dryRun = storage.getStore()?.dryRun;
  return dryRun ? (dryRun.transactions.get(knex) ?? null) : undefined;
}
