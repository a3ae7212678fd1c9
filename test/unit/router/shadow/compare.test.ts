import { describe, expect, it } from 'vitest';
import { compareJson } from '../../../../router/src/shadow/compare.js';
import { judgeField } from '../../../../router/src/shadow/noise.js';

describe('compareJson', () => {
  it('types each difference at its path, with array indices generalised', () => {
    const primary = { items: [{ id: 1, price: 10, tags: ['a'] }], total: 1, next: null };
    const candidate = { items: [{ id: 1, price: 11, tags: 'a' }], count: 1, next: null };
    expect(compareJson(primary, candidate)).toEqual([
      { kind: 'value', path: '$.items[0].price', field: '$.items[*].price', primary: 10, candidate: 11 },
      { kind: 'type', path: '$.items[0].tags', field: '$.items[*].tags', primary: ['a'], candidate: 'a' },
      { kind: 'missing', path: '$.total', field: '$.total', primary: 1 },
      { kind: 'extra', path: '$.count', field: '$.count', candidate: 1 },
    ]);
  });

  it('reports a different length once, and the same elements reordered as one order difference', () => {
    expect(compareJson({ a: [1, 2, 3] }, { a: [1, 2] })).toEqual([
      { kind: 'length', path: '$.a', field: '$.a', primary: 3, candidate: 2 },
    ]);
    expect(compareJson({ a: [1, 2, 3] }, { a: [3, 1, 2] })).toEqual([{ kind: 'order', path: '$.a', field: '$.a' }]);
  });

  it('applies the route rules: ignored fields with wildcards, numeric tolerance, arrays as sets', () => {
    const primary = { items: [{ at: 't1', price: 1.0, tags: ['x', 'y'] }], meta: { trace: 'a', host: 'h1' } };
    const candidate = { items: [{ at: 't2', price: 1.004, tags: ['y', 'x'] }], meta: { trace: 'b', host: 'h2' } };
    const rules = { ignore: ['items[*].at', 'meta.**'], tolerance: 0.01, unordered: ['items[*].tags'] };
    expect(compareJson(primary, candidate, rules)).toEqual([]);
    expect(compareJson(primary, candidate, { ignore: ['items[*].at'] }).map((d) => d.field)).toEqual([
      '$.items[*].price',
      '$.items[*].tags',
      '$.meta.trace',
      '$.meta.host',
    ]);
  });
});

describe('judgeField (Diffy’s noise rule)', () => {
  it('flags a field only when candidate differences clearly exceed the monolith’s own', () => {
    expect(judgeField({ raw: 0, noise: 0 }, 1000)).toBe('equal');
    // An id that differs in every answer, the monolith's own included: noise.
    expect(judgeField({ raw: 1000, noise: 1000 }, 1000)).toBe('noise');
    // A price the candidate gets wrong in 5 % of samples, never the monolith: a difference.
    expect(judgeField({ raw: 50, noise: 0 }, 1000)).toBe('difference');
    // A gap within 20 % of the raw count: noise.
    expect(judgeField({ raw: 100, noise: 85 }, 1000)).toBe('noise');
    // One difference in 10,000 samples is below the 0.03 % absolute gap.
    expect(judgeField({ raw: 1, noise: 0 }, 10_000)).toBe('noise');
    expect(judgeField({ raw: 4, noise: 0 }, 10_000)).toBe('difference');
  });
});
