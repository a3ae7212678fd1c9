import { describe, expect, it } from 'vitest';
import { type Shape, shapeMismatches } from '../../../../tools/src/contract/cases.js';
import { compareJson } from '../../../../router/src/shadow/compare.js';
import { describeDifference } from '../../../../tools/src/contract/run.js';

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

describe('describeDifference', () => {
  it('says each kind of difference in words, naming the sides', () => {
    const a = {
      items: [
        { id: 1, at: 't1' },
        { id: 2, at: 't2' },
      ],
      total: 2,
      only: 1,
    };
    const b = { items: [{ id: 1, at: 't3' }], total: 3, extra: true };
    const lines = compareJson(a, b, { ignore: ['items[*].at'] }).map((d) =>
      describeDifference(d, 'monolith', 'service'),
    );
    expect(lines).toEqual([
      '$.items: 2 items against 1',
      '$.total: 2 against 3 (monolith against service)',
      '$.only: only in monolith',
      '$.extra: only in service',
    ]);
  });
});
