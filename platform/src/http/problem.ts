import type { ServerResponse } from 'node:http';
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import { FicusError, retriableDatabaseError, toProblem } from '../errors.js';

/** Writes `error` as RFC 9457 application/problem+json on a plain node:http response. */
export function writeProblem(
  res: ServerResponse,
  error: FicusError,
  context: { instance?: string; requestId?: string } = {},
  headers: Record<string, string> = {},
): void {
  const body = JSON.stringify(toProblem(error, context));
  res.writeHead(error.status, {
    ...headers,
    'content-type': 'application/problem+json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    ...(context.requestId ? { 'x-request-id': context.requestId } : {}),
  });
  res.end(body);
}

/** Sends `error` as RFC 9457 application/problem+json from an express handler. */
export function sendProblem(
  req: Request,
  res: Response,
  error: FicusError,
  headers: Record<string, string> = {},
): void {
  writeProblem(res, error, { instance: req.originalUrl, requestId: String(req.id ?? '') || undefined }, headers);
}

interface BodyParserError {
  type?: string;
  limit?: number;
  status?: number;
  message: string;
}

/**
 * Maps anything thrown by a handler to a FicusError: ours pass through, body-parser's become
 * 400/413/415 with what to do, anything else is a logged 500 that leaks no internals.
 */
function asFicusError(error: unknown): FicusError {
  if (error instanceof FicusError) return error;
  const retriable = retriableDatabaseError(error);
  if (retriable) return retriable;
  const parserError = error as BodyParserError;
  switch (parserError?.type) {
    case 'entity.parse.failed':
      return new FicusError(
        'FICUS_ERR_MALFORMED_JSON',
        `request body is not valid JSON (${parserError.message}); send a JSON object`,
      );
    case 'entity.too.large':
      return new FicusError(
        'FICUS_ERR_BODY_TOO_LARGE',
        `request body exceeds the limit of ${parserError.limit} bytes; send a smaller body`,
        {
          extensions: { limit: parserError.limit },
        },
      );
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new FicusError('FICUS_ERR_UNSUPPORTED_MEDIA_TYPE', `${parserError.message}; send UTF-8 JSON`);
    default:
      return new FicusError(
        'FICUS_ERR_INTERNAL',
        'the server failed to handle this request; the request id identifies it in the logs',
        { cause: error },
      );
  }
}

export const problemHandler: ErrorRequestHandler = (error, req, res, next) => {
  const ficusError = asFicusError(error);
  if (ficusError.status >= 500) req.log?.error({ err: error }, 'request failed');
  if (res.headersSent) {
    next(error);
    return;
  }
  // A paused write is worth retrying: say when (RFC 9110 §10.2.3).
  const retryAfter = ficusError.extensions?.['retryAfterSeconds'];
  sendProblem(req, res, ficusError, typeof retryAfter === 'number' ? { 'retry-after': String(retryAfter) } : {});
};

export const notFoundHandler: RequestHandler = (req, res) => {
  sendProblem(req, res, new FicusError('FICUS_ERR_NOT_FOUND', `no route for ${req.method} ${req.path}`));
};
