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

/** The path a method is served at, under a service's root. */
export function methodPath(spec: ApiSpec<unknown>, method: string): string {
  return `/internal/api/${spec.name}/${method}`;
}

/**
 * One implementation or the other per call, as `mode()` says at that moment: branch by
 * abstraction for an API that has a local and a remote implementation.
 * @example switchApi(catalogApiSpec, { local, remote }, () => flags.catalogApi())
 */
export function switchApi<T extends AsyncApi<T>>(
  spec: ApiSpec<T>,
  implementations: { local: T; remote: T },
  mode: () => 'local' | 'remote',
): T {
  const api: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  for (const method of methodsOf(spec)) {
    // async: a mode() that throws rejects the call, as any failure of the API does.
    api[method] = async (...args) => {
      const target = implementations[mode()] as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
      return target[method]!(...args);
    };
  }
  return api as unknown as T;
}
