import type { IncomingMessage } from 'node:http';
import { bearerToken, type Tokens } from '../../platform/src/index.js';
import type { FlagContext } from '../../platform/src/flags/flag-source.js';

export interface UserContextOptions {
  /** Verifies `Authorization: Bearer` JWTs; `sub` becomes the userId. */
  tokens: Tokens | undefined;
  /**
   * A header that carries the user id, set by a trusted gateway in front (e.g. `x-user-id`).
   * The routing core removes it from requests of peers it does not trust before this reads it.
   */
  userIdHeader: string | undefined;
  /** Cookie holding the session id. */
  sessionCookie: string;
}

const cacheLimit = 10_000;
/** How long a verified token is trusted for routing without a new signature check (never past its `exp`). */
const rememberMs = 60_000;

/**
 * Builds the unleash-client context of a request: userId from a verified JWT `sub`, else from
 * the user-id header (kept only on requests from trusted gateways); sessionId from a cookie;
 * remoteAddress. A request that presents a bearer token is routed by that token alone: a
 * token that does not verify gives no user id, whatever headers come with it. Verified tokens
 * are remembered (bounded, at most a minute and never past their `exp`), so a canary costs
 * one signature check per token, not per request.
 */
export function createUserContext(
  options: UserContextOptions,
): (req: IncomingMessage) => FlagContext | Promise<FlagContext> {
  const verified = new Map<string, { userId: string; until: number }>();
  // First requests with the same token share one signature check.
  const verifying = new Map<string, Promise<string | undefined>>();
  const header = options.userIdHeader?.toLowerCase();
  const cookiePattern = new RegExp(`(?:^|;\\s*)${options.sessionCookie.replace(/[^\w-]/g, '')}=([^;]+)`);

  // Routing only: the upstream still authenticates the request.
  async function verify(token: string): Promise<string | undefined> {
    try {
      const principal = await options.tokens!.verify(token);
      if (verified.size >= cacheLimit) verified.delete(verified.keys().next().value!);
      verified.set(token, {
        userId: principal.userId,
        until: Math.min(Date.now() + rememberMs, principal.expiresAt ?? Infinity),
      });
      return principal.userId;
    } catch {
      return undefined;
    }
  }

  const context = (req: IncomingMessage, userId: string | undefined): FlagContext => {
    const sessionId = req.headers.cookie ? cookiePattern.exec(req.headers.cookie)?.[1] : undefined;
    const remoteAddress = req.socket.remoteAddress;
    return {
      ...(userId ? { userId } : {}),
      ...(sessionId ? { sessionId } : {}),
      ...(remoteAddress ? { remoteAddress } : {}),
    };
  };

  // Synchronous unless a bearer token needs its first verification: this is the hot path.
  return (req) => {
    const token = options.tokens ? bearerToken(req.headers.authorization) : undefined;
    if (token) {
      const known = verified.get(token);
      if (known && known.until > Date.now()) return context(req, known.userId);
      if (known) verified.delete(token);
      let pending = verifying.get(token);
      if (!pending) {
        pending = verify(token).finally(() => verifying.delete(token));
        verifying.set(token, pending);
      }
      return pending.then((userId) => context(req, userId));
    }
    const fromHeader = header ? req.headers[header] : undefined;
    if (typeof fromHeader === 'string' && fromHeader) return context(req, fromHeader);
    return context(req, undefined);
  };
}
