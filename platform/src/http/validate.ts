import type { Request } from 'express';
import type { z } from 'zod';
import { FicusError, type FieldError } from '../errors.js';

function pointer(path: readonly PropertyKey[]): string {
  return path.map((part) => `/${String(part).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

/** One FieldError per offending field; unknown fields are reported one by one. */
export function fieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.flatMap((issue): FieldError[] => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ pointer: pointer([...issue.path, key]), detail: 'unknown field; remove it' }));
    }
    return [{ pointer: pointer(issue.path) || '/', detail: issue.message }];
  });
}

function parse<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const errors = fieldErrors(result.error);
  const summary = errors.map((e) => `${e.pointer}: ${e.detail}`).join('; ');
  throw new FicusError('FICUS_ERR_VALIDATION', `invalid ${where}: ${summary}`, { errors });
}

/** Validates a JSON request body; 415 when the client did not send JSON at all. */
export function parseBody<S extends z.ZodType>(schema: S, req: Request): z.output<S> {
  if (req.body === undefined) {
    throw new FicusError(
      'FICUS_ERR_UNSUPPORTED_MEDIA_TYPE',
      'request body must be JSON; send Content-Type: application/json',
    );
  }
  return parse(schema, req.body, 'request body');
}

export function parseQuery<S extends z.ZodType>(schema: S, req: Request): z.output<S> {
  return parse(schema, req.query, 'query string');
}

export function parseParams<S extends z.ZodType>(schema: S, req: Request): z.output<S> {
  return parse(schema, req.params, 'path parameter');
}
