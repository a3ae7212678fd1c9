/**
 * What a failed HTTP request means for whoever sent it: could the other side have received it?
 * - `connect`: the connection was never made (refused, unresolvable, connect timeout, a closed
 *   pool): nothing was sent, so sending again is safe for any request;
 * - `timeout`: sent, and no answer in time: it may have been applied;
 * - `reset`: the connection broke after sending: it may have been applied;
 * - `aborted`: our own abort.
 */
export type SendFailure = 'connect' | 'timeout' | 'reset' | 'aborted';

/**
 * The one rule, shared by the router's proxy and the remote API client, for undici and
 * node:http errors. `timeoutCodes` are the codes that mean "no answer in time" (undici's
 * headers timeout always does).
 */
export function sendFailureOf(error: NodeJS.ErrnoException, timeoutCodes: readonly string[] = []): SendFailure {
  // Our own abort of a request (undici raises the signal's AbortError).
  if (error.name === 'AbortError') return 'aborted';
  if (error.code !== undefined && timeoutCodes.includes(error.code)) return 'timeout';
  switch (error.code) {
    // Only ever raised while connecting (also as an AggregateError when every address of a
    // name like localhost refused).
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'UND_ERR_CONNECT_TIMEOUT':
    // A pool closed by a reload or shutdown: nothing was sent.
    case 'UND_ERR_DESTROYED':
    case 'UND_ERR_CLOSED':
      return 'connect';
    case 'UND_ERR_HEADERS_TIMEOUT':
      return 'timeout';
    // Only ever our own abort.
    case 'UND_ERR_ABORTED':
      return 'aborted';
  }
  // Unreachable or timed out while connecting. The same codes on an open socket (a read or a
  // write) mean the request may have arrived.
  return error.syscall === 'connect' || error.syscall === 'getaddrinfo' ? 'connect' : 'reset';
}
