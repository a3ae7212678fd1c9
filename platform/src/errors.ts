/**
 * Stable error codes shared by the monolith, extracted services and tools.
 * Every code is documented in docs/errors.md (a test keeps the two in step).
 * HTTP responses carry the code in RFC 9457 problem+json bodies.
 */
export const errorCodes = {
  FICUS_ERR_CONFIG: { status: 500, title: 'Invalid configuration' },
  FICUS_ERR_VALIDATION: { status: 400, title: 'Request validation failed' },
  FICUS_ERR_MALFORMED_JSON: { status: 400, title: 'Malformed JSON body' },
  FICUS_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  FICUS_ERR_BODY_TOO_LARGE: { status: 413, title: 'Request body too large' },
  FICUS_ERR_NOT_FOUND: { status: 404, title: 'Not found' },
  FICUS_ERR_UNKNOWN_REFERENCE: { status: 422, title: 'Referenced resource does not exist' },
  FICUS_ERR_UNAUTHORIZED: { status: 401, title: 'Authentication required' },
  FICUS_ERR_FORBIDDEN: { status: 403, title: 'Forbidden' },
  FICUS_ERR_SHADOW_SIGNATURE: { status: 403, title: 'Shadow request signature refused' },
  FICUS_ERR_CONFLICT: { status: 409, title: 'Conflict' },
  FICUS_ERR_INSUFFICIENT_STOCK: { status: 409, title: 'Insufficient stock' },
  FICUS_ERR_PAYMENT_DECLINED: { status: 402, title: 'Payment declined' },
  FICUS_ERR_PAYMENT_TIMEOUT: { status: 504, title: 'Payment provider timed out' },
  FICUS_ERR_SHUTTING_DOWN: { status: 503, title: 'Server is shutting down' },
  FICUS_ERR_WRITES_FROZEN: { status: 503, title: 'Writes paused' },
  FICUS_ERR_NOT_READY: { status: 503, title: 'Not ready' },
  FICUS_ERR_DB_PROVISION: { status: 500, title: 'Database provisioning failed' },
  FICUS_ERR_POSTGRES: { status: 500, title: 'Embedded PostgreSQL failed' },
  FICUS_ERR_MODULE_MANIFEST: { status: 500, title: 'Invalid module manifest' },
  FICUS_ERR_ROUTE_INVALID: { status: 500, title: 'Invalid route table' },
  FICUS_ERR_FLAG_SOURCE: { status: 500, title: 'Flag source problem' },
  FICUS_ERR_EXTRACT: { status: 500, title: 'Module cannot be extracted' },
  FICUS_ERR_DATA_SETUP: { status: 500, title: 'Replication cannot be set up' },
  FICUS_ERR_RETIRE: { status: 500, title: 'Module cannot be retired' },
  FICUS_ERR_DATA_SYNC: { status: 500, title: 'Replication failed' },
  FICUS_ERR_PARITY_SOURCE: { status: 502, title: 'Parity results unavailable' },
  FICUS_ERR_PARITY_GATE: { status: 409, title: 'Parity below the promotion bar' },
  FICUS_ERR_ROUTE_RETIRED: { status: 409, title: 'Route is retired' },
  FICUS_ERR_WRITES_MOVE_WITH_DATA: { status: 409, title: 'Write route moves with its data' },
  FICUS_ERR_PATH_REJECTED: { status: 400, title: 'Request path rejected' },
  FICUS_ERR_URI_TOO_LONG: { status: 414, title: 'Request path too long' },
  FICUS_ERR_UPSTREAM_UNAVAILABLE: { status: 502, title: 'Upstream unavailable' },
  FICUS_ERR_CLIENT_CLOSED: { status: 499, title: 'Client closed the request' },
  FICUS_ERR_CLIENT_TIMEOUT: { status: 408, title: 'Client too slow' },
  FICUS_ERR_UPSTREAM_TIMEOUT: { status: 504, title: 'Upstream timed out' },
  FICUS_ERR_UPSTREAM_SATURATED: { status: 503, title: 'Upstream at capacity' },
  FICUS_ERR_CIRCUIT_OPEN: { status: 503, title: 'Upstream circuit open' },
  FICUS_ERR_IDEMPOTENCY_KEY_REUSED: { status: 409, title: 'Idempotency key used for another call' },
  FICUS_ERR_IDEMPOTENCY_IN_PROGRESS: { status: 409, title: 'Call with this idempotency key still running' },
  FICUS_ERR_ADMIN_UNAUTHORIZED: { status: 401, title: 'Admin token required' },
  FICUS_ERR_API_UNAUTHORIZED: { status: 401, title: 'Internal API token required' },
  FICUS_ERR_INTERNAL: { status: 500, title: 'Internal server error' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof errorCodes;

/** One offending input field, as reported in a problem's `errors` list. */
export interface FieldError {
  /** JSON Pointer (RFC 6901) into the request body or query, e.g. `/items/0/quantity`. */
  pointer: string;
  /** What is wrong and what is expected. */
  detail: string;
}

export interface FicusErrorOptions {
  status?: number;
  errors?: FieldError[];
  /** Extra members added to the problem body (e.g. `orderId`). */
  extensions?: Record<string, unknown>;
  cause?: unknown;
}

/** Base error of every ficus area: a stable `code`, a message that says what to do, an HTTP status. */
export class FicusError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly errors: FieldError[] | undefined;
  readonly extensions: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: FicusErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FicusError';
    this.code = code;
    this.status = options.status ?? errorCodes[code].status;
    this.errors = options.errors;
    this.extensions = options.extensions;
  }
}

/** RFC 9457 problem details body, with ficus' `code`, `requestId` and field `errors`. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  code: ErrorCode;
  requestId?: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

export function problemType(code: ErrorCode): string {
  return `urn:ficus:error:${code}`;
}

export function toProblem(error: FicusError, context: { instance?: string; requestId?: string } = {}): Problem {
  return {
    ...error.extensions,
    type: problemType(error.code),
    title: errorCodes[error.code].title,
    status: error.status,
    detail: error.message,
    ...(context.instance === undefined ? {} : { instance: context.instance }),
    code: error.code,
    ...(context.requestId === undefined ? {} : { requestId: context.requestId }),
    ...(error.errors === undefined ? {} : { errors: error.errors }),
  };
}

/**
 * A PostgreSQL refusal that means "try again shortly": a write denied for want of privilege
 * (42501) is what a module's tables frozen for a cutover answer (`ficus data cutover` revokes the
 * module role's write privileges for the switch of writers). Undefined for any other error.
 */
export function retriableDatabaseError(error: unknown): FicusError | undefined {
  const pg = error as { code?: unknown; message?: unknown } | undefined;
  if (pg?.code !== '42501') return undefined;
  return new FicusError(
    'FICUS_ERR_WRITES_FROZEN',
    `the database refused this write (${String(pg.message)}): its tables are frozen while their writer changes, ` +
      'or the module role lost its grants; retry in a second',
    { extensions: { retryAfterSeconds: 1 }, cause: error },
  );
}
