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
  | 'aborted';

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
    case 'connect':
    case 'reset':
    case 'status':
      return { status: 502, code: 'FICUS_ERR_UPSTREAM_UNAVAILABLE' };
  }
}

/** Whether the upstream certainly never received the request (so any method may go elsewhere). */
export function neverReceived(failure: UpstreamFailure): boolean {
  return failure === 'connect' || failure === 'circuit-open' || failure === 'saturated';
}
