/**
 * Structural comparison of two JSON answers, the core of shadow traffic's parity: every
 * difference typed and placed at a JSON path, with array indices generalised (`items[*].price`)
 * so differences aggregate per field, not per element. Pure: the worker pool runs it off the
 * event loop that proxies.
 */

type DifferenceKind = 'value' | 'type' | 'missing' | 'extra' | 'length' | 'order';

export interface Difference {
  kind: DifferenceKind;
  /** Where, with indices: `$.items[3].price`. */
  path: string;
  /** Where, indices generalised: `$.items[*].price`; what noise and reports count by. */
  field: string;
  primary?: unknown;
  candidate?: unknown;
}

/** Per-route comparison rules from routes.yaml. */
export interface CompareRules {
  /** Fields left out, by generalised path; `*` matches one key or index, `**` any depth: `items[*].updatedAt`, `meta.**`. */
  ignore?: readonly string[];
  /** Numbers closer than this (absolute) are equal. */
  tolerance?: number;
  /** Arrays compared as sets (order does not matter), by generalised path: `tags`, `items[*].labels`. */
  unordered?: readonly string[];
}

const generalise = (path: string) => path.replace(/\[\d+\]/g, '[*]');

/** A rule path as a regular expression over generalised paths (without the leading `$.`). */
function rulePattern(rule: string): RegExp {
  const body = rule.replace(/^\$\.?/, '').replace(/\*\*|\[\*\]|\*|[.+?^${}()|[\]\\]/g, (token) => {
    if (token === '**') return '.*';
    if (token === '[*]') return '\\[\\*\\]';
    if (token === '*') return '[^.[]+';
    return `\\${token}`;
  });
  return new RegExp(`^${body}($|[.[])`);
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'array' : typeof value;
}

/** Compares two parsed JSON values; returns every difference, typed, in document order. */
export function compareJson(primary: unknown, candidate: unknown, rules: CompareRules = {}): Difference[] {
  const ignore = (rules.ignore ?? []).map(rulePattern);
  const unordered = (rules.unordered ?? []).map(rulePattern);
  const tolerance = rules.tolerance ?? 0;
  const out: Difference[] = [];
  const matches = (patterns: RegExp[], path: string) => {
    const bare = generalise(path).replace(/^\$\.?/, '');
    return patterns.some((p) => p.test(bare));
  };
  const add = (kind: DifferenceKind, path: string, a?: unknown, b?: unknown) =>
    out.push({
      kind,
      path,
      field: generalise(path),
      ...(a === undefined ? {} : { primary: a }),
      ...(b === undefined ? {} : { candidate: b }),
    });

  const walk = (a: unknown, b: unknown, path: string): void => {
    if (matches(ignore, path)) return;
    const [ta, tb] = [typeOf(a), typeOf(b)];
    if (ta !== tb) return void add('type', path, a, b);
    if (ta === 'array') return walkArray(a as unknown[], b as unknown[], path);
    if (ta === 'object') {
      const [oa, ob] = [a as Record<string, unknown>, b as Record<string, unknown>];
      for (const key of Object.keys(oa)) {
        const at = `${path}.${key}`;
        if (!(key in ob)) {
          if (!matches(ignore, at)) add('missing', at, oa[key]);
        } else walk(oa[key], ob[key], at);
      }
      for (const key of Object.keys(ob)) {
        const at = `${path}.${key}`;
        if (!(key in oa) && !matches(ignore, at)) add('extra', at, undefined, ob[key]);
      }
      return;
    }
    if (ta === 'number' && Math.abs((a as number) - (b as number)) <= tolerance) return;
    if (!Object.is(a, b)) add('value', path, a, b);
  };

  const walkArray = (a: unknown[], b: unknown[], path: string): void => {
    if (matches(unordered, path)) {
      const key = (v: unknown) => JSON.stringify(v);
      const counts = new Map<string, number>();
      for (const item of a) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
      for (const item of b) counts.set(key(item), (counts.get(key(item)) ?? 0) - 1);
      if (a.length !== b.length) add('length', path, a.length, b.length);
      else if ([...counts.values()].some((n) => n !== 0)) add('value', `${path}[*]`, a, b);
      return;
    }
    if (a.length !== b.length) {
      add('length', path, a.length, b.length);
      return;
    }
    // Same elements in another order is one `order` difference, not one per element.
    const sorted = (list: unknown[]) => list.map((v) => JSON.stringify(v)).sort();
    if (
      a.length > 1 &&
      JSON.stringify(sorted(a)) === JSON.stringify(sorted(b)) &&
      JSON.stringify(a) !== JSON.stringify(b)
    ) {
      add('order', path);
      return;
    }
    for (const [i, item] of a.entries()) walk(item, b[i], `${path}[${i}]`);
  };

  walk(primary, candidate, '$');
  return out;
}
