import type { Request, RequestHandler } from 'express';
import type { Knex } from 'knex';
import { FicusError } from '../errors.js';
import type { Logger } from '../logger.js';
import { runInDryRun } from '../request-context.js';
import { shadowHeader, verifyShadowRequest } from '../shadow.js';
import { underlyingKnex } from '../shadow-safe.js';
import { sendProblem } from './problem.js';

/** Response header of a request run in dry-run: nothing it wrote was committed. */
export const dryRunHeader = 'x-ficus-dry-run';

const verifiedKey = 'ficusShadowVerified';

interface ShadowRequestOptions {
  /** SHADOW_SECRET; without one every shadow request is refused. */
  secret: string | undefined;
  /** The shadow-safe knex instances the routes use; each gets a transaction per dry-run request. */
  databases: readonly Knex[];
  logger: Logger;
}

/** The chassis' two steps for shadow requests: check the signature first, run in dry-run last. */
interface ShadowRequestHandlers {
  /** Refuses (403) a request with an x-ficus-shadow header that is not a valid signature; others pass. */
  verify: RequestHandler;
  /** For a verified one: opens a transaction per database, runs the rest of the chain over them, rolls back. */
  dryRun: RequestHandler;
}

function underlyingOf(databases: readonly Knex[]): Knex[] {
  const found = databases.map((db, index) => {
    const knex = underlyingKnex(db);
    if (!knex) {
      throw new FicusError(
        'FICUS_ERR_CONFIG',
        `databases[${index}] of createHttpApp is not shadow-safe, so a dry-run request would write through it: ` +
          'make it with createDb, or wrap it with shadowSafe',
      );
    }
    return knex;
  });
  return [...new Set(found)];
}

const logOf = (req: Request, fallback: Logger): Logger => req.log ?? fallback;

export function shadowRequestHandlers(options: ShadowRequestOptions): ShadowRequestHandlers {
  const databases = underlyingOf(options.databases);

  const verify: RequestHandler = (req, res, next) => {
    const header = req.headersDistinct[shadowHeader];
    if (header === undefined) return next();
    const verdict = verifyShadowRequest(options.secret, header, { method: req.method, path: req.originalUrl });
    if (!verdict.ok) {
      logOf(req, options.logger).warn({ reason: verdict.reason }, 'shadow request refused');
      // Refused outright, never run in dry-run nor for real: an unsigned copy must not pass for either.
      sendProblem(
        req,
        res,
        new FicusError('FICUS_ERR_SHADOW_SIGNATURE', `shadow request refused, nothing was run: ${verdict.reason}`),
      );
      return;
    }
    res.locals[verifiedKey] = true;
    res.setHeader(dryRunHeader, 'rolled-back');
    next();
  };

  const dryRun: RequestHandler = async (req, res, next) => {
    if (res.locals[verifiedKey] !== true) return next();
    const log = logOf(req, options.logger);
    const transactions = new Map<Knex, Knex.Transaction>();
    let ended = false;
    // Never a commit: ROLLBACK when the response is done or the client went away, whatever the handler still does.
    const rollBack = () => {
      for (const transaction of transactions.values()) {
        if (transaction.isCompleted()) continue;
        transaction.rollback().catch((error: unknown) => log.error({ err: error }, 'dry-run rollback failed'));
      }
    };
    const end = () => {
      ended = true;
      rollBack();
    };
    res.once('finish', end);
    res.once('close', end);
    try {
      // Eagerly, as building a query is synchronous; one after the other in one order, so dry-run
      // requests that each hold some pools cannot wait on each other for the rest.
      for (const knex of databases) {
        transactions.set(knex, await knex.transaction());
        if (ended) break;
      }
    } catch (error) {
      rollBack();
      next(error);
      return;
    }
    if (ended) return rollBack();
    runInDryRun(transactions, next);
  };

  return { verify, dryRun };
}
