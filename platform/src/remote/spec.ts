import { FicusError } from '../errors.js';

/** An API as this toolkit can carry it over HTTP: every member a function returning a promise. */
export type AsyncApi<T> = { [K in keyof T]: (...args: never[]) => Promise<unknown> };

/** Per method of an API: whether calling it changes state (then every call carries an idempotency key). */
export type ApiMethods<T> = { readonly [K in keyof T & string]: { readonly writes: boolean } };

/** An API's name (the path segment under `/internal/api/`) and its methods. */
export interface ApiSpec<T> {
  readonly name: string;
  readonly methods: ApiMethods<T>;
}

/** Names the remote client keeps for itself (see remoteApi), so no API may use them. */
const reservedMethodNames: ReadonlySet<string> = new Set(['withIdempotencyKey', 'close']);

const apiName = /^[a-z][a-z0-9-]*$/;
const methodName = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Declares an API that can have a remote implementation: its name and, per method, whether it
 * writes. The type parameter makes the compiler insist on every method of `T`, no more.
 * @example export const catalogApiSpec = defineApi<CatalogApi>('catalog', { getProduct: { writes: false }, ... });
 */
export function defineApi<T extends AsyncApi<T>>(name: string, methods: ApiMethods<T>): ApiSpec<T> {
  const problems: string[] = [];
  if (!apiName.test(name)) problems.push(`the name "${name}" must be lower-case letters, digits and -`);
  for (const [method, spec] of Object.entries(methods as Record<string, { writes?: unknown }>)) {
    if (!methodName.test(method)) problems.push(`method "${method}" is not an identifier`);
    if (reservedMethodNames.has(method)) problems.push(`method "${method}" is reserved by the remote client`);
    if (typeof spec?.writes !== 'boolean') problems.push(`method "${method}" needs { writes: true | false }`);
  }
  if (Object.keys(methods).length === 0) problems.push('it has no methods');
  if (problems.length) {
    throw new FicusError('FICUS_ERR_CONFIG', `API spec "${name}" is invalid: ${problems.join('; ')}`);
  }
  const frozen = Object.fromEntries(Object.entries(methods).map(([m, s]) => [m, Object.freeze({ ...(s as object) })]));
  return Object.freeze({ name, methods: Object.freeze(frozen) as ApiMethods<T> });
}

/** The method names of a spec, in declaration order. */
export function methodsOf<T>(spec: ApiSpec<T>): Array<keyof T & string> {
  return Object.keys(spec.methods) as Array<keyof T & string>;
}

/** The path an API's methods are served under, at a service's root. */
export function apiPath(spec: ApiSpec<unknown>): string {
  return `/internal/api/${spec.name}`;
}

/** The path a method is served at, under a service's root. */
export function methodPath(spec: ApiSpec<unknown>, method: string): string {
  return `${apiPath(spec)}/${method}`;
}

/** What an API offers a caller that wants to choose the idempotency keys of its writes. */
export interface IdempotencyKeys<T> {
  /**
   * The same API, whose writing calls carry `key` instead of a new one. A caller that derives the
   * key from its own ids (an order's) can repeat a call whose outcome is unknown
   * (`maybeApplied`), now or later, and the service answers what that call did without doing it
   * twice. Use one view for one call and its repeats: a different method with the key is refused.
   * @example await catalog.withIdempotencyKey(`orders:${orderId}:reserve`).reserveStock(request)
   */
  withIdempotencyKey(key: string): T;
}

/** An API whose writing calls can be given their idempotency key. */
export type KeyedApi<T> = T & IdempotencyKeys<T>;

type Methods = Record<string, (...args: unknown[]) => Promise<unknown>>;

/**
 * One implementation or the other per call, as `mode()` says at that moment: branch by
 * abstraction for an API that has a local and a remote implementation.
 *
 * `withIdempotencyKey(key)` passes the key to the remote implementation; the local one has no
 * keys (its calls run in this process: their outcome is known when they return or throw). A
 * keyed view asks `mode()` once, at its first call, and stays with that implementation: a key
 * means something only to the side that saw it (a service's keys stay in its database; ficus data
 * moves the data, not the keys), so a repeat must not follow a flag that flipped in between.
 * @example switchApi(catalogApiSpec, { local, remote }, () => flags.catalogApi())
 */
export function switchApi<T extends AsyncApi<T>>(
  spec: ApiSpec<T>,
  implementations: { local: T; remote?: KeyedApi<T> | undefined },
  mode: () => 'local' | 'remote',
): KeyedApi<T> {
  const { local, remote } = implementations;
  const pick = (chosen: 'local' | 'remote', key: string | undefined): Methods => {
    if (chosen === 'local') return local as unknown as Methods;
    if (!remote) {
      throw new FicusError(
        'FICUS_ERR_CONFIG',
        `the ${spec.name} API is set to remote, but it has no remote implementation`,
      );
    }
    return (key === undefined ? remote : remote.withIdempotencyKey(key)) as unknown as Methods;
  };
  const view = (key?: string): T => {
    let pinned: 'local' | 'remote' | undefined;
    const api: Methods = {};
    for (const method of methodsOf(spec)) {
      // async: a mode() that throws rejects the call, as any failure of the API does.
      api[method] = async (...args) => {
        const chosen = key === undefined ? mode() : (pinned ??= mode());
        return pick(chosen, key)[method]!(...args);
      };
    }
    return api as unknown as T;
  };
  return Object.assign(view(), { withIdempotencyKey: (key: string) => view(key) });
}
