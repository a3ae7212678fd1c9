import { FicusError, retriableDatabaseError } from '../../../../../platform/src/index.js';

/** The code a failed order records: the FicusError's, a paused write's, or FICUS_ERR_INTERNAL. */
export function codeOf(error: unknown): string {
  return error instanceof FicusError ? error.code : (retriableDatabaseError(error)?.code ?? 'FICUS_ERR_INTERNAL');
}

/**
 * An order's failure_code: why it failed, and the compensations left undone for an operator (or a
 * retry job) to finish, each with what finishing it needs.
 * @example failureCodeOf('FICUS_ERR_UPSTREAM_TIMEOUT', ['release-stock (idempotency key orders:1:reserve)'])
 *   // 'FICUS_ERR_UPSTREAM_TIMEOUT; compensation failed: release-stock (idempotency key orders:1:reserve)'
 */
export function failureCodeOf(code: string, undone: readonly string[]): string {
  return undone.length ? `${code}; compensation failed: ${undone.join(', ')}` : code;
}

/** Adds the order id to a saga failure so the client can look the order up; unexpected errors become a 500 that says the order was undone. */
export function withOrderId(thrown: unknown, orderId: string): FicusError {
  // A write the database paused (a cutover of another module's data): a clean, retriable failure.
  const error = retriableDatabaseError(thrown) ?? thrown;
  if (!(error instanceof FicusError)) {
    return new FicusError('FICUS_ERR_INTERNAL', `placing order ${orderId} failed and was undone; try again`, {
      extensions: { orderId },
      cause: error,
    });
  }
  return new FicusError(error.code, error.message, {
    status: error.status,
    errors: error.errors,
    extensions: { ...error.extensions, orderId },
    cause: error,
  });
}
