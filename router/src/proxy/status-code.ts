import type { ErrorCode } from '../../../platform/src/index.js';

/** Why forwarding to an upstream failed. */
export type UpstreamFailure =
  /** The connection was never made: the upstream cannot have received the request. */
  | 'connect'
  /** No response headers within the upstream's responseTimeoutMs. */
  | 'timeout'
  /** The connection broke after the request was sent. */
  | 'reset'
  /** The upstream answered 5xx. */
  | 'status'
  /** The upstream's circuit is open: nothing was sent. */
  | 'circuit-open'
  /** The upstream's bulkhead is full: nothing was sent. */
  | 'saturated'
  /** The client hung up while its request body was being sent: not the upstream's fault. */
  | 'aborted'
  /** The client's request body paused longer than its deadline: not the upstream's fault. */
  | 'client-timeout';

/** The one place upstream failures become HTTP statuses for the client. */
export function failureResponse(failure: UpstreamFailure): { status: number; code: ErrorCode } {
  switch (failure) {
    case 'timeout':
      return { status: 504, code: 'FICUS_ERR_UPSTREAM_TIMEOUT' };
    case 'circuit-open':
      return { status: 503, code: 'FICUS_ERR_CIRCUIT_OPEN' };
    case 'saturated':
      return { status: 503, code: 'FICUS_ERR_UPSTREAM_SATURATED' };
    case 'aborted':
      return { status: 499, code: 'FICUS_ERR_CLIENT_CLOSED' };
    case 'client-timeout':
      return { status: 408, code: 'FICUS_ERR_CLIENT_TIMEOUT' };
    case 'connect':
    case 'reset':
    case 'status':
      return { status: 502, code: 'FICUS_ERR_UPSTREAM_UNAVAILABLE' };
  }
}

/** Whether the upstream certainly never received the request (so any method may go elsewhere). */
function neverReceived(failure: UpstreamFailure): boolean {
  return failure === 'connect' || failure === 'circuit-open' || failure === 'saturated';
}

/** How a request's body travels, for the fallback rule. */
export interface BodyKind {
  /** RFC 9110 idempotent method: sending it twice has the effect of once. */
  idempotent: boolean;
  /** `none`, `buffered` (read in full, can be sent again) or `streamed` (sent once, as it arrives). */
  body: 'none' | 'buffered' | 'streamed';
  /** The proxy reads a streamed body only once connected, so after a connect failure it is still unread. */
  lazyBody: boolean;
}

/**
 * Whether a request whose service failed may go to the fallback (the monolith): when the
 * service certainly never received it and its body can still be sent, or when it is
 * idempotent and its body (if any) can be sent again. The one fallback rule of both router forms.
 */
export function mayFallBack(failure: UpstreamFailure, request: BodyKind): boolean {
  if (request.body !== 'streamed') return neverReceived(failure) || request.idempotent;
  // A streamed body is untouched when nothing was sent (circuit open, bulkhead full), and after
  // a refused connection only if the proxy had not started reading it.
  return failure === 'circuit-open' || failure === 'saturated' || (failure === 'connect' && request.lazyBody);
}
