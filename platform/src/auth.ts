import type { RequestHandler, Response } from 'express';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { FicusError } from './errors.js';

/** Who made a request, from a verified bearer token. */
export interface Principal {
  userId: string;
  role: 'customer' | 'admin';
  /** When the token stops being valid (ms since the epoch), from its `exp`. */
  expiresAt?: number;
}

export interface Tokens {
  sign(principal: Principal): Promise<{ token: string; expiresIn: number }>;
  verify(token: string): Promise<Principal>;
}

const issuer = 'ficus';

/**
 * HS256 JWTs shared by the monolith and extracted services (and read by the router for sticky
 * canaries): `sub` is the user id, `role` the authorization role.
 */
export function createTokens(options: { secret: string; ttlSeconds: number }): Tokens {
  const key = new TextEncoder().encode(options.secret);
  return {
    async sign(principal) {
      const token = await new SignJWT({ role: principal.role })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(principal.userId)
        .setIssuer(issuer)
        .setIssuedAt()
        .setExpirationTime(`${options.ttlSeconds}s`)
        .sign(key);
      return { token, expiresIn: options.ttlSeconds };
    },
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, key, { issuer, algorithms: ['HS256'] });
        const role = payload['role'] === 'admin' ? 'admin' : 'customer';
        if (typeof payload.sub !== 'string') throw new Error('token has no subject');
        return {
          userId: payload.sub,
          role,
          ...(typeof payload.exp === 'number' ? { expiresAt: payload.exp * 1000 } : {}),
        };
      } catch (error) {
        const reason =
          error instanceof joseErrors.JWTExpired
            ? 'the token has expired; sign in again'
            : 'the token is invalid; sign in again';
        throw new FicusError('FICUS_ERR_UNAUTHORIZED', reason, { cause: error });
      }
    },
  };
}

/** The token of an `Authorization: Bearer <token>` header (scheme in any case, RFC 9110 §11.1), if there is one. */
export function bearerToken(authorization: string | undefined): string | undefined {
  return authorization === undefined ? undefined : /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
}

/** Requires `Authorization: Bearer <token>`; with `role`, also that role. */
export function requireAuth(tokens: Tokens, options: { role?: Principal['role'] } = {}): RequestHandler {
  return async (req, res, next) => {
    try {
      const token = bearerToken(req.headers.authorization);
      if (!token) {
        throw new FicusError(
          'FICUS_ERR_UNAUTHORIZED',
          'send Authorization: Bearer <token>; get a token from POST /api/v1/users/sign-in',
        );
      }
      const principal = await tokens.verify(token);
      if (options.role && principal.role !== options.role) {
        throw new FicusError('FICUS_ERR_FORBIDDEN', `this operation needs the ${options.role} role`);
      }
      res.locals['principal'] = principal;
      next();
    } catch (error) {
      next(error);
    }
  };
}

/** The principal that requireAuth verified for this request. */
export function principalOf(res: Response): Principal {
  const principal = res.locals['principal'] as Principal | undefined;
  if (!principal) throw new FicusError('FICUS_ERR_UNAUTHORIZED', 'authentication required');
  return principal;
}
