import type { IncomingMessage } from 'node:http';
import type { Tokens } from '../../platform/src/index.js';
import type { FlagContext } from './flags/flag-source.js';

export interface UserContextOptions {
  /** Verifies `Authorization: Bearer` JWTs; `sub` becomes the userId. */
  tokens: Tokens | undefined;
  /** A header that carries the user id, set by a trusted gateway in front (e.g. `x-user-id`). */
  userIdHeader: string | undefined;
  /** Cookie holding the session id. */
  sessionCookie: string;
}

const cacheLimit = 10_000;

/**
 * Builds the unleash-client context of a request: userId from a verified JWT `sub` (or the
 * configured header), sessionId from a cookie, remoteAddress. Verified tokens are remembered
 * (bounded, until they expire) so a canary costs one signature check per token, not per request.
 */
export function createUserContext(options: UserContextOptions): (req: IncomingMessage) => Promise<FlagContext> {
  const verified = new Map<string, { userId: string; until: number }>();
  const header = options.userIdHeader?.toLowerCase();
  const cookiePattern = new RegExp(`(?:^|;\\s*)${options.sessionCookie.replace(/[^\w-]/g, '')}=([^;]+)`);

  async function userFromToken(authorization: string | undefined): Promise<string | undefined> {
    if (!options.tokens || !authorization?.startsWith('Bearer ')) return undefined;
    const token = authorization.slice(7).trim();
    const known = verified.get(token);
    if (known && known.until > Date.now()) return known.userId;
    try {
      const principal = await options.tokens.verify(token);
      if (verified.size >= cacheLimit) verified.delete(verified.keys().next().value!);
      verified.set(token, { userId: principal.userId, until: Date.now() + 60_000 });
      return principal.userId;
    } catch {
      return undefined;
    }
  }

  return async (req) => {
    const fromHeader = header ? req.headers[header] : undefined;
    const userId = typeof fromHeader === 'string' && fromHeader ? fromHeader : await userFromToken(req.headers.authorization);
    const sessionId = cookiePattern.exec(req.headers.cookie ?? '')?.[1];
    return {
      ...(userId ? { userId } : {}),
      ...(sessionId ? { sessionId } : {}),
      ...(req.socket.remoteAddress ? { remoteAddress: req.socket.remoteAddress } : {}),
    };
  };
}
