import { z } from 'zod';
import { readValidated } from '../../../platform/src/index.js';

/**
 * A body shape: a type name for a leaf (`"string"`, `"number"`, `"integer"`, `"boolean"`,
 * `"null"`, `"uuid"`, `"any"`), an object of shapes (keys not listed are allowed), or an array
 * of one shape that every element must match.
 */
export type Shape = string | { [key: string]: Shape } | [Shape];

const leaves = ['string', 'number', 'integer', 'boolean', 'null', 'uuid', 'any', 'array', 'object'] as const;
const shapeSchema: z.ZodType<Shape> = z.lazy(() =>
  z.union([z.enum(leaves), z.tuple([shapeSchema]), z.record(z.string(), shapeSchema)]),
) as z.ZodType<Shape>;

const caseSchema = z.strictObject({
  name: z.string().min(1),
  request: z.strictObject({
    method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']).default('GET'),
    /** The full path with its query, e.g. `/api/v1/products?limit=2`. */
    path: z.string().startsWith('/'),
    headers: z.record(z.string(), z.string()).default({}),
    body: z.unknown().optional(),
  }),
  expect: z
    .strictObject({
      status: z.number().int().min(100).max(599).optional(),
      /** The body's shape (see Shape); checked on every side. */
      shape: shapeSchema.optional(),
    })
    .default({}),
  /** JSON paths left out of the parity comparison (e.g. `items[*].updatedAt`). */
  ignore: z.array(z.string()).default([]),
});

const contractSchema = z.strictObject({
  $comment: z.string().optional(),
  service: z.string().min(1),
  cases: z.array(caseSchema).min(1, 'add at least one case'),
});

export type ContractCase = z.output<typeof caseSchema>;
export type Contract = z.output<typeof contractSchema>;

/** A contract file (`services/<name>/contract/cases.json`), validated; errors name the file and field. */
export function readContract(file: string): Contract {
  return readValidated(file, contractSchema, { code: 'FICUS_ERR_CONFIG', expected: 'a valid contract file' });
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** Where `value` does not have `shape`: one line per mismatch, with its JSON path. */
export function shapeMismatches(value: unknown, shape: Shape, path = '$'): string[] {
  if (typeof shape === 'string') {
    const actual = typeOf(value);
    const ok =
      shape === 'any' ||
      shape === actual ||
      (shape === 'integer' && Number.isInteger(value)) ||
      (shape === 'uuid' && typeof value === 'string' && uuid.test(value));
    return ok ? [] : [`${path}: expected ${shape}, got ${actual === 'string' ? JSON.stringify(value) : actual}`];
  }
  if (Array.isArray(shape)) {
    if (!Array.isArray(value)) return [`${path}: expected an array, got ${typeOf(value)}`];
    return value.flatMap((item, index) => shapeMismatches(item, shape[0], `${path}[${index}]`));
  }
  if (typeOf(value) !== 'object') return [`${path}: expected an object, got ${typeOf(value)}`];
  const record = value as Record<string, unknown>;
  return Object.entries(shape).flatMap(([key, inner]) =>
    key in record ? shapeMismatches(record[key], inner, `${path}.${key}`) : [`${path}.${key}: missing`],
  );
}
