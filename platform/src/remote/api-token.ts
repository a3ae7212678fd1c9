import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { z } from 'zod';
import { bearerToken } from '../auth.js';
import { FicusError } from '../errors.js';
import { sendProblem } from '../http/problem.js';

/**
 * A token shared by a service's API and its callers: what a header can carry as a bearer token
 * (RFC 6750 §2.1 b64token), and long enough not to be guessed.
 * @example INTERNAL_API_TOKEN: apiTokenSetting.optional()
 */
export const apiTokenSetting = z
  .string()
  .min(32, 'use at least 32 characters (e.g. openssl rand -base64 32)')
  .regex(/^[A-Za-z0-9\-._~+/]+=*$/, 'use letters, digits and - . _ ~ + / only (e.g. openssl rand -base64 32)');

/** The service's setting that holds the token its API requires (serviceConfigSchema). */
export const serviceTokenVariable = 'INTERNAL_API_TOKEN';

/** The service's setting for the token it still accepts while its callers move to a new one. */
export const previousTokenVariable = 'INTERNAL_API_TOKEN_PREVIOUS';

/**
 * The setting a caller reads an API's token from, by convention next to `<NAME>_SERVICE_URL`:
 * the monolith's `CATALOG_API_TOKEN` for the catalog API.
 */
export function apiTokenVariable(name: string): string {
  return `${name.toUpperCase().replaceAll('-', '_')}_API_TOKEN`;
}

/** What both sides must hold, in words, for messages that tell a user how to fix a refusal. */
export function sharedTokenAdvice(name: string): string {
  return (
    `give the service and its caller the same token: the service's ${serviceTokenVariable} and ` +
    `the caller's token (the monolith reads it from ${apiTokenVariable(name)})`
  );
}

// Digests have one length whatever was sent, as timingSafeEqual requires, so neither the
// comparison's time nor an early length check tells a caller how close its guess was.
const digest = (token: string) => createHash('sha256').update(token).digest();

/**
 * Lets through only calls with `authorization: Bearer <token>` (or, during a rotation, the
 * previous token); anything else is answered 401 FICUS_ERR_API_UNAUTHORIZED with
 * `www-authenticate: Bearer` (RFC 6750 §3), before the API looks at the call: no method is
 * listed, no key recorded, nothing run.
 */
export function requireApiToken(name: string, token: string, previous?: string): RequestHandler {
  const accepted = [token, ...(previous ? [previous] : [])].map(digest);
  const realm = `realm="${name} API"`;
  return (req, res, next) => {
    const given = bearerToken(req.headers.authorization);
    // Every accepted token is compared, so the time taken does not say which one matched.
    const matches = given === undefined ? [] : accepted.map((expected) => timingSafeEqual(digest(given), expected));
    if (matches.some(Boolean)) {
      next();
      return;
    }
    const problem =
      given === undefined
        ? `the ${name} API needs the header "authorization: Bearer <token>" and none came with this call`
        : `the ${name} API refused the token of this call's "authorization: Bearer <token>": it is not this service's`;
    const refusal = new FicusError('FICUS_ERR_API_UNAUTHORIZED', `${problem}; ${sharedTokenAdvice(name)}`, {
      extensions: { api: name },
    });
    // RFC 6750 §3.1: no error code when no token came; invalid_token for a wrong one.
    const challenge = given === undefined ? `Bearer ${realm}` : `Bearer ${realm}, error="invalid_token"`;
    sendProblem(req, res, refusal, { 'www-authenticate': challenge });
  };
}
