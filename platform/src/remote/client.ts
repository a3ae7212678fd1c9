import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { FicusError, type FieldError, errorCodes, type ErrorCode } from '../errors.js';
import { sharedTokenAdvice } from './api-token.js';
import { sendFailureOf } from './send-failure.js';
import { type ApiSpec, type AsyncApi, type IdempotencyKeys, methodPath, methodsOf } from './spec.js';

export interface RemoteApiOptions {
  /**
   * The service's URL; calls go to `<baseUrl>/internal/api/<name>/<method>`.
   * @example { baseUrl: 'http://catalog:3101' }
   */
  baseUrl: string;
  /** Per attempt: for connecting, and for the answer after sending (each). Default 2000. */
  timeoutMs?: number;
  /** Further attempts after one that was never sent (connection refused or failed). Default 2. */
  retries?: number;
  /**
   * The service's token (its INTERNAL_API_TOKEN), sent as `authorization: Bearer <token>` with
   * every call; over `headers`. The service refusing it is FICUS_ERR_API_UNAUTHORIZED, not retried.
   * @example remoteApi(catalogApiSpec, { baseUrl, token: config.CATALOG_API_TOKEN })
   */
  token?: string | undefined;
  /** Headers added to every call (a request id); called once per call. */
  headers?: () => Record<string, string>;
  /** Connections to the service at most. Default 16. */
  connections?: number;
}

/** What a remote implementation adds to the API it implements: chosen keys, and closing. */
export interface RemoteControls<T> extends IdempotencyKeys<T> {
  /** Closes the connections. */
  close(): Promise<void>;
}

export type RemoteApi<T> = T & RemoteControls<T>;

/** Members of a problem body that are not extensions. */
const problemMembers = new Set(['type', 'title', 'status', 'detail', 'instance', 'code', 'requestId', 'errors']);

/** Full jitter over an exponential step (50, 100, 200 ms … capped at 1 s). */
const backoff = (attempt: number) => Math.random() * Math.min(1000, 50 * 2 ** attempt);

function isProblem(body: unknown): body is { code: ErrorCode; detail?: string; errors?: FieldError[] } {
  const code = (body as { code?: unknown } | null)?.code;
  return typeof code === 'string' && Object.hasOwn(errorCodes, code);
}

/** A problem+json answer as the FicusError it was on the service: same code, status, field errors, extensions. */
function fromProblem(status: number, body: Record<string, unknown> & { code: ErrorCode }): FicusError {
  const extensions = Object.fromEntries(Object.entries(body).filter(([key]) => !problemMembers.has(key)));
  return new FicusError(body.code, typeof body['detail'] === 'string' ? body['detail'] : errorCodes[body.code].title, {
    status,
    ...(Array.isArray(body['errors']) ? { errors: body['errors'] as FieldError[] } : {}),
    ...(Object.keys(extensions).length ? { extensions } : {}),
  });
}

/**
 * A second implementation of an API: each call is `POST <baseUrl>/internal/api/<name>/<method>`
 * with `{ "args": [...] }`, answered `{ "result": ... }` by the service's apiRouter.
 *
 * - Arguments and results travel as JSON: a Date arrives as its ISO string, `undefined` members
 *   vanish, a Map or class instance arrives as a plain object. Keep API types to JSON data.
 * - Every call of a writing method carries an `idempotency-key` header, a UUID made once per
 *   call and sent again on every retry of it.
 * - A call is retried (jittered backoff, `retries` times) when it was never sent (the connection
 *   was refused or could not be made) or its connection broke before the answer: a write is sent
 *   again with the same idempotency key, so the service answers what it did the first time (and a
 *   key still running answers 409 in progress: asked again a second later). Nothing is retried
 *   after a timeout (that would multiply the wait).
 * - With `token`, every call carries `authorization: Bearer <token>`. A 401
 *   FICUS_ERR_API_UNAUTHORIZED (token missing or not the service's) is not retried: it becomes a
 *   FicusError of that code with status 502 that says to give both sides the same token, and
 *   `maybeApplied: false` unless an earlier attempt was sent.
 * - Any other problem+json answer becomes a FicusError with its code, status and extensions. No
 *   answer in `timeoutMs` becomes FICUS_ERR_UPSTREAM_TIMEOUT; no connection, a broken one or an
 *   answer that is not the API's becomes FICUS_ERR_UPSTREAM_UNAVAILABLE. Both carry `api`, `method`,
 *   `maybeApplied` (true once any attempt may have reached the service) and, for writes,
 *   `idempotencyKey`; so does a FICUS_ERR_IDEMPOTENCY_IN_PROGRESS that outlasts the waits, with
 *   `maybeApplied: true`. Repeat with that key (withIdempotencyKey, or learnOutcome) to learn the
 *   outcome, or compensate.
 * @example const catalog = remoteApi(catalogApiSpec, { baseUrl, token: config.CATALOG_API_TOKEN });
 */
export function remoteApi<T extends AsyncApi<T>>(spec: ApiSpec<T>, options: RemoteApiOptions): RemoteApi<T> {
  const url = new URL(options.baseUrl);
  const prefix = url.pathname.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 2000;
  const retries = options.retries ?? 2;
  const service = `${spec.name} service at ${url.origin}${prefix}`;
  const pool = new Pool(url.origin, {
    connections: options.connections ?? 16,
    connectTimeout: timeoutMs,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });

  async function attempt(method: string, body: string, key: string | undefined): Promise<unknown> {
    const response = await pool.request({
      method: 'POST',
      path: `${prefix}${methodPath(spec, method)}`,
      headers: {
        ...options.headers?.(),
        ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
        'content-type': 'application/json',
        accept: 'application/json, application/problem+json',
        ...(key === undefined ? {} : { 'idempotency-key': key }),
      },
      body,
    });
    const text = await response.body.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (response.statusCode >= 200 && response.statusCode < 300 && parsed !== null && typeof parsed === 'object') {
      return (parsed as { result?: unknown }).result;
    }
    if (isProblem(parsed))
      throw fromProblem(response.statusCode, parsed as Record<string, unknown> & { code: ErrorCode });
    throw new FicusError(
      'FICUS_ERR_UPSTREAM_UNAVAILABLE',
      `${spec.name}.${method}: the ${service} answered ${response.statusCode} without a problem+json body; ` +
        'is that URL the service, with the API mounted?',
      { extensions: { api: spec.name, method, ...(key ? { idempotencyKey: key } : {}), maybeApplied: true } },
    );
  }

  async function call(method: string, args: unknown[], givenKey?: string): Promise<unknown> {
    const writes = spec.methods[method as keyof T & string].writes;
    const key = writes ? (givenKey ?? randomUUID()) : undefined;
    const body = JSON.stringify({ args });
    // Once an attempt may have reached the service, the call may have been applied, whatever
    // later attempts meet (a service gone down after applying it refuses the next connection).
    let sent = false;
    for (let tries = 0; ; tries++) {
      try {
        return await attempt(method, body, key);
      } catch (error) {
        if (error instanceof FicusError && error.code === 'FICUS_ERR_IDEMPOTENCY_IN_PROGRESS') {
          // The service is still running the same key's first try: wait, then ask again.
          sent = true;
          if (tries < retries) {
            await sleep(1000);
            continue;
          }
          throw stillRunning(error, method, key);
        }
        // A configuration error on one side or the other: asking again would meet the same refusal.
        if (error instanceof FicusError && error.code === 'FICUS_ERR_API_UNAUTHORIZED')
          throw refusedToken(error, method, key, sent);
        if (error instanceof FicusError) throw error;
        const failure = sendFailureOf(error as NodeJS.ErrnoException, ['UND_ERR_BODY_TIMEOUT']);
        sent ||= failure !== 'connect';
        // A broken connection after sending: a read is asked again, and so is a write, with the same
        // idempotency key, so the service answers what it did the first time instead of doing it twice.
        const retriable = failure === 'connect' || failure === 'reset';
        if (retriable && tries < retries) {
          await sleep(backoff(tries));
          continue;
        }
        throw transportError(failure, method, key, { attempts: tries + 1, sent }, error);
      }
    }
  }

  /**
   * The service refused the token (or its absence). That attempt was refused before anything
   * ran; only an earlier attempt of the call, sent before a broken connection, may have been
   * applied. To the caller's own clients it is a 502: their credentials are not what failed.
   */
  function refusedToken(error: FicusError, method: string, key: string | undefined, maybeApplied: boolean) {
    const sentToken = options.token === undefined ? 'no token was sent' : "the token sent is not the service's";
    return new FicusError(
      error.code,
      `${spec.name}.${method}: the ${service} refused the call (401, ${sentToken}); ${sharedTokenAdvice(spec.name)}; ` +
        outcomeOf(maybeApplied, key, 'it was not applied (refused before it ran)'),
      {
        status: 502,
        extensions: { api: spec.name, method, ...(key ? { idempotencyKey: key } : {}), maybeApplied },
        cause: error,
      },
    );
  }

  /** What the caller may assume of a failed call, in words. */
  function outcomeOf(maybeApplied: boolean, key: string | undefined, notApplied: string): string {
    if (!maybeApplied) return notApplied;
    return key
      ? `it may have been applied: call again with idempotency key ${key} to learn its outcome, or compensate`
      : 'it may have been run; it changes nothing, so it is safe to call again';
  }

  /** A key still running after the waits: its outcome is unknown, as after a lost answer. */
  function stillRunning(error: FicusError, method: string, key: string | undefined): FicusError {
    return new FicusError(
      error.code,
      `${spec.name}.${method}: ${error.message}; it may still be applied: call again with the key later, or compensate`,
      {
        status: error.status,
        extensions: {
          ...error.extensions,
          api: spec.name,
          method,
          ...(key ? { idempotencyKey: key } : {}),
          maybeApplied: true,
        },
        cause: error,
      },
    );
  }

  function transportError(
    failure: string,
    method: string,
    key: string | undefined,
    { attempts, sent: maybeApplied }: { attempts: number; sent: boolean },
    cause: unknown,
  ): FicusError {
    const extensions = { api: spec.name, method, ...(key ? { idempotencyKey: key } : {}), maybeApplied };
    const what = `${spec.name}.${method}`;
    const outcome = outcomeOf(maybeApplied, key, 'it was not applied (never sent)');
    if (failure === 'timeout') {
      return new FicusError(
        'FICUS_ERR_UPSTREAM_TIMEOUT',
        `${what}: the ${service} sent no answer within ${timeoutMs} ms; ${outcome}`,
        { extensions, cause },
      );
    }
    const code = (cause as NodeJS.ErrnoException).code ?? (cause as Error).message;
    const happened =
      failure !== 'connect'
        ? `the connection to the ${service} broke after the call was sent (${code})`
        : `could not connect to the ${service} (${code}, ${attempts} attempt${attempts > 1 ? 's' : ''})` +
          (maybeApplied ? ' after an earlier attempt was sent' : '');
    return new FicusError('FICUS_ERR_UPSTREAM_UNAVAILABLE', `${what}: ${happened}; ${outcome}`, { extensions, cause });
  }

  function methods(key?: string): T {
    const api: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
    for (const method of methodsOf(spec)) api[method] = (...args) => call(method, args, key);
    return api as unknown as T;
  }

  return Object.assign(methods(), {
    withIdempotencyKey: (key: string) => methods(key),
    close: () => pool.close(),
  });
}
