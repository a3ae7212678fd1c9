import { describe, expect, it } from 'vitest';
import { type Shape, shapeMismatches } from '../../../../tools/src/contract/cases.js';
import { jsonDifferences } from '../../../../tools/src/contract/run.js';

describe('shapeMismatches', () => {
  it('checks leaves, objects and every array element, naming the path', () => {
    const shape: Shape = { items: [{ id: 'uuid', price: 'integer' }], next: 'string' };
    expect(
      shapeMismatches({ items: [{ id: '3f1e7c1a-2b4d-4c8e-9f0a-1b2c3d4e5f60', price: 3 }], next: 'x' }, shape),
    ).toEqual([]);
    expect(shapeMismatches({ items: [{ id: 'nope', price: 2.5 }] }, shape)).toEqual([
      '$.items[0].id: expected uuid, got "nope"',
      '$.items[0].price: expected integer, got number',
      '$.next: missing',
    ]);
    expect(shapeMismatches('text', { a: 'any' })).toEqual(['$: expected an object, got string']);
  });
});

describe('jsonDifferences', () => {
  it('names each differing path and skips ignored ones, with array indices generalised', () => {
    const a = {
      items: [
        { id: 1, at: 't1' },
        { id: 2, at: 't2' },
      ],
      total: 2,
    };
    const b = { items: [{ id: 1, at: 't3' }], total: 3, extra: true };
    expect(jsonDifferences(a, b, ['items[*].at'])).toEqual([
      '$.extra: only in the second',
      '$.items: 2 items against 1',
      '$.total: 2 against 3',
    ]);
    expect(jsonDifferences(a, structuredClone(a))).toEqual([]);
  });
});
