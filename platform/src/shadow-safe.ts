import type { Knex } from 'knex';
import { FicusError } from './errors.js';
import { dryRunTransaction } from './request-context.js';

/** Each shadow-safe knex → the knex it stands for. */
const underlying = new WeakMap<object, Knex>();

function unregistered(): FicusError {
  return new FicusError(
    'FICUS_ERR_INTERNAL',
    'a dry-run request used a database that the HTTP app was not given in createHttpApp({ databases }); ' +
      'it was refused so that the request leaves no trace: list every knex the routes use there',
  );
}

/**
 * `knex` as code keeps using it, except inside a dry-run request (a signed shadow request), where
 * every query, `raw`, `fn` and `transaction` goes to that request's transaction on `knex`, which the
 * chassis rolls back. A `db.transaction(...)` there is a savepoint of it, so its commit releases the
 * savepoint and commits nothing. What plain knex lacks (a transaction's `commit`, `rollback`) stays
 * out of reach. A dry-run request that reaches a knex the app did not register fails rather than
 * write for real. `createDb` returns its knex wrapped; wrap one made elsewhere yourself.
 * @example const db = shadowSafe(knex({ client: 'pg', connection })); createHttpApp({ ..., databases: [db] })
 */
export function shadowSafe(knex: Knex): Knex {
  if (underlying.has(knex)) return knex;
  const current = (): Knex => {
    const transaction = dryRunTransaction(knex);
    if (transaction === null) throw unregistered();
    return transaction ?? knex;
  };
  const proxy = new Proxy(knex, {
    apply: (_target, _this, args: unknown[]) => Reflect.apply(current(), undefined, args),
    get(_target, property) {
      // Also keeps `then` undefined, so returning a db from an async function does not await it.
      if (!(property in knex)) return undefined;
      const target = current();
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
    set: (_target, property, value) => Reflect.set(current(), property, value),
    has: (_target, property) => property in knex,
  });
  underlying.set(proxy, knex);
  return proxy;
}

/** The knex a shadow-safe knex stands for; `undefined` for one that is not shadow-safe. */
export function underlyingKnex(db: Knex): Knex | undefined {
  return underlying.get(db);
}
