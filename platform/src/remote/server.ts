import { Router, type Request, type Response } from 'express';
import type { Knex } from 'knex';
import { FicusError, toProblem } from '../errors.js';
import { sendProblem } from '../http/problem.js';
import type { Logger } from '../logger.js';
import { isDryRun } from '../request-context.js';
import { requireApiToken, serviceTokenVariable } from './api-token.js';
import {
  claimKey,
  findKey,
  forgetKey,
  type KeyRecord,
  lockKey,
  pruneKeys,
  recordAnswer,
  type StoredAnswer,
} from './idempotency.js';
import { type ApiSpec, type AsyncApi, apiPath, methodPath, methodsOf } from './spec.js';

/**
 * What the router calls: the API itself, or a function that builds it on a knex. Given the
 * function, a writing call runs on a transaction that also records its idempotency key, so the
 * effect and the record commit together; given the API, see apiRouter on the window that leaves.
 */
export type ApiImplementation<T> = T | ((db: Knex) => T);

export interface ApiRouterOptions {
  /** The service's own database, holding api_idempotency (apiIdempotencyMigration). */
  db: Knex;
  logger: Logger;
  /** How long an answer is kept for retries; older keys are deleted (checked at most once a minute). Default 24 h. */
  retentionMs?: number;
  /**
   * The bearer token every call must carry (`authorization: Bearer <token>`), the service's
   * INTERNAL_API_TOKEN; its callers send it with remoteApi's `token`. Without it the API answers
   * anyone who can reach the service, and says so once in a warning.
   * @example apiRouter(catalogApiSpec, (trx) => catalogApi(trx), { db, logger, token: config.INTERNAL_API_TOKEN })
   */
  token?: string | undefined;
  /**
   * A token also accepted while the service's callers move to a new `token` (its
   * INTERNAL_API_TOKEN_PREVIOUS): set the new token here and the old one there, move the
   * callers, then drop this.
   */
  previousToken?: string | undefined;
}

const dayMs = 24 * 60 * 60 * 1000;
const pruneEveryMs = 60_000;
const acceptableKey = /^[\x21-\x7e]{1,255}$/;

type Methods = Record<string, (...args: unknown[]) => Promise<unknown>>;
type Call = (api: Methods) => Promise<unknown>;

/**
 * Serves `POST /internal/api/<name>/:method` (mount it at the service's root) for a remote
 * client made by remoteApi from the same spec: `{ "args": [...] }` in, `{ "result": ... }` or
 * problem+json out.
 *
 * With `token`, a call without `authorization: Bearer <token>` is answered 401
 * FICUS_ERR_API_UNAUTHORIZED before anything else (no method listed, no key recorded, nothing run).
 *
 * Writing methods need an `idempotency-key` header. A call with a key already answered gets that
 * stored answer again (success or problem, with `idempotent-replayed: true`) and is not run; the
 * key with another method is 409 FICUS_ERR_IDEMPOTENCY_KEY_REUSED; a key whose call is running is
 * 409 FICUS_ERR_IDEMPOTENCY_IN_PROGRESS with `retry-after: 1`. Only definitive answers are stored
 * (2xx, 4xx); an unexpected failure (5xx) records nothing, so a retry runs the call again.
 *
 * With `implementation` a function of a knex, a write runs in one transaction that takes the key's
 * advisory lock, finds or records the key and runs the method (in a savepoint): effect and record
 * commit together or not at all. With a plain implementation that runs its own transactions, the
 * key is inserted as running first and its answer recorded after: a crash between the effect and
 * that record leaves the key running for good, so every retry gets the 409 "in progress" until
 * the retention deletes it; the caller cannot learn the outcome from the key and must compensate
 * (e.g. release by its own reference). Keys are kept `retentionMs`; never retry one after that.
 * @example routes: [{ path: '/', router: apiRouter(catalogApiSpec, (db) => catalogApi(db), { db, logger }) }]
 */
export function apiRouter<T extends AsyncApi<T>>(
  spec: ApiSpec<T>,
  implementation: ApiImplementation<T>,
  options: ApiRouterOptions,
): Router {
  const { db } = options;
  const logger = options.logger.child({ api: spec.name });
  const retentionMs = options.retentionMs ?? dayMs;
  const transactional = typeof implementation === 'function';
  const on = (knex: Knex) =>
    (transactional ? (implementation as (db: Knex) => T)(knex) : implementation) as unknown as Methods;
  let prunedAt = 0;
  const prune = () => {
    if (isDryRun() || Date.now() - prunedAt < pruneEveryMs) return;
    prunedAt = Date.now();
    pruneKeys(db, retentionMs).catch((error: unknown) =>
      logger.warn({ err: error }, 'could not delete old idempotency keys; will try again'),
    );
  };

  const router = Router();
  if (options.token) router.use(apiPath(spec), requireApiToken(spec.name, options.token, options.previousToken));
  else {
    logger.warn(
      `the ${spec.name} API (${apiPath(spec)}/*) answers calls without a token: anyone who can reach this ` +
        `service can call it, writes included; set ${serviceTokenVariable} (required in production) and give ` +
        'its callers the same token',
    );
  }
  router.post(methodPath(spec, ':method'), async (req: Request<{ method: string }>, res: Response) => {
    const method = req.params.method;
    if (!Object.hasOwn(spec.methods, method)) {
      throw new FicusError(
        'FICUS_ERR_NOT_FOUND',
        `the ${spec.name} API has no method "${method}"; it has ${methodsOf(spec).join(', ')}`,
        { extensions: { methods: methodsOf(spec) } },
      );
    }
    const args = argsOf(req.body);
    const call: Call = (api) => api[method]!(...args);
    const context = { instance: req.originalUrl, requestId: String(req.id ?? '') || undefined };
    if (!spec.methods[method as keyof T & string].writes) {
      send(res, await answerOf(() => call(on(db)), context));
      return;
    }
    const key = keyOf(req);
    const write = { key, method, call, context };
    const outcome = transactional ? await writeInTransaction(db, on, write) : await writeWithClaim(db, on, write);
    prune();
    if ('replayed' in outcome) {
      logger.info({ method, idempotencyKey: key }, 'answered a repeated call from its idempotency key');
      res.setHeader('idempotent-replayed', 'true');
      send(res, outcome.replayed);
      return;
    }
    if ('refused' in outcome) {
      sendProblem(
        req,
        res,
        outcome.refused,
        outcome.refused.code === 'FICUS_ERR_IDEMPOTENCY_IN_PROGRESS' ? { 'retry-after': '1' } : {},
      );
      return;
    }
    send(res, outcome.answer);
  });
  return router;
}

interface Write {
  key: string;
  method: string;
  call: Call;
  context: { instance: string; requestId: string | undefined };
}

type Outcome = { answer: StoredAnswer } | { replayed: StoredAnswer } | { refused: FicusError };

/** The answer of a key seen before: its stored answer, or why there is none to give. */
function seen(found: KeyRecord, write: Write): Outcome {
  if (found.method !== write.method) {
    return {
      refused: new FicusError(
        'FICUS_ERR_IDEMPOTENCY_KEY_REUSED',
        `idempotency key ${write.key} was used for ${found.method}, not ${write.method}; send a new key for every call`,
        { extensions: { idempotencyKey: write.key, method: found.method } },
      ),
    };
  }
  if (found.answer) return { replayed: found.answer };
  return {
    refused: new FicusError(
      'FICUS_ERR_IDEMPOTENCY_IN_PROGRESS',
      `the call with idempotency key ${write.key} (${write.method}) has not finished; ask again in a second`,
      { extensions: { idempotencyKey: write.key, method: write.method } },
    ),
  };
}

/** Lock, look up, run in a savepoint, record: one transaction, so effect and record commit together. */
async function writeInTransaction(db: Knex, on: (knex: Knex) => Methods, write: Write): Promise<Outcome> {
  return db.transaction(async (trx) => {
    const locked = await lockKey(trx, write.key);
    const found = await findKey(trx, write.key);
    if (found) return seen(found, write);
    // Another transaction holds the key and has not committed: the same call, running now.
    if (!locked) return seen({ method: write.method, answer: null }, write);
    // The savepoint undoes whatever the method wrote before failing; the record is still made.
    const answer = await answerOf(() => trx.transaction((inner) => write.call(on(inner))), write.context);
    await recordAnswer(trx, write.key, write.method, answer);
    return { answer };
  });
}

/** Claim the key (committed), run, record: the implementation's own transactions stand between. */
async function writeWithClaim(db: Knex, on: (knex: Knex) => Methods, write: Write): Promise<Outcome> {
  if (!(await claimKey(db, write.key, write.method))) {
    return seen((await findKey(db, write.key)) ?? { method: write.method, answer: null }, write);
  }
  let answer: StoredAnswer;
  try {
    answer = await answerOf(() => write.call(on(db)), write.context);
  } catch (error) {
    // Not a definitive answer: let a retry run the call again.
    await forgetKey(db, write.key);
    throw error;
  }
  await recordAnswer(db, write.key, write.method, answer);
  return { answer };
}

/** The method's result, or the problem it failed with when that is a definitive answer (below 500); else throws. */
async function answerOf(run: () => Promise<unknown>, context: Write['context']): Promise<StoredAnswer> {
  try {
    return { status: 200, body: { result: await run() } };
  } catch (error) {
    if (error instanceof FicusError && error.status < 500) {
      return { status: error.status, body: toProblem(error, context) };
    }
    throw error;
  }
}

function send(res: Response, answer: StoredAnswer): void {
  const type = answer.status >= 400 ? 'application/problem+json' : 'application/json';
  res.status(answer.status).type(type).send(JSON.stringify(answer.body));
}

function argsOf(body: unknown): unknown[] {
  const args = (body as { args?: unknown } | undefined)?.args;
  const onlyArgs = body !== null && typeof body === 'object' && Object.keys(body).every((k) => k === 'args');
  if (!Array.isArray(args) || !onlyArgs) {
    throw new FicusError('FICUS_ERR_VALIDATION', 'send a JSON body { "args": [...] }: the arguments of the method', {
      errors: [{ pointer: '/args', detail: 'expected an array of the arguments, and no other member' }],
    });
  }
  return args;
}

function keyOf(req: Request): string {
  const key = req.get('idempotency-key');
  if (key === undefined || !acceptableKey.test(key)) {
    throw new FicusError(
      'FICUS_ERR_VALIDATION',
      'a writing method needs an idempotency-key header of 1 to 255 visible ASCII characters (a UUID per call)',
      { errors: [{ pointer: '/headers/idempotency-key', detail: key === undefined ? 'missing' : 'malformed' }] },
    );
  }
  return key;
}
