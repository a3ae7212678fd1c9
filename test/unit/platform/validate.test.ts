import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { fieldErrors } from '../../../platform/src/index.js';

describe('field errors', () => {
  const schema = z.strictObject({ items: z.array(z.strictObject({ 'a/b': z.number() })), name: z.string() });

  it('points at each offending field with a JSON Pointer, escaping / and ~', () => {
    const result = schema.safeParse({ items: [{ 'a/b': 'x' }], name: 3 });
    expect(result.success).toBe(false);
    expect(fieldErrors(result.error!).map((e) => e.pointer)).toEqual(['/items/0/a~1b', '/name']);
  });

  it('reports each unknown field on its own', () => {
    const result = schema.safeParse({ items: [], name: 'n', extra: 1, more: 2 });
    expect(fieldErrors(result.error!)).toEqual([
      { pointer: '/extra', detail: 'unknown field; remove it' },
      { pointer: '/more', detail: 'unknown field; remove it' },
    ]);
  });
});
