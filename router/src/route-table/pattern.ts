/**
 * Route path patterns: `/api/v1/orders` (exact), `/api/v1/orders/:id` (one segment),
 * `/api/v1/orders/**` (the prefix itself and anything below it). Static segments match
 * case-insensitively.
 */
type PatternSegment = { kind: 'static'; value: string } | { kind: 'param'; name: string };

export interface PathPattern {
  source: string;
  segments: PatternSegment[];
  /** Ends in `/**`: also matches every path below. */
  prefix: boolean;
}

const staticSegment = /^[A-Za-z0-9\-._~]+$/;
const paramSegment = /^:[A-Za-z_][A-Za-z0-9_]*$/;

/** Compiles a pattern, or returns why it is unsafe. */
export function compilePattern(source: string): PathPattern | string {
  if (!source.startsWith('/')) return 'must start with /';
  if (source.length > 512) return 'is longer than 512 characters';
  const parts = source === '/' ? [] : source.slice(1).split('/');
  const prefix = parts.at(-1) === '**';
  if (prefix) parts.pop();
  const segments: PatternSegment[] = [];
  for (const part of parts) {
    if (part === '') return 'has an empty segment (// or a trailing /); write /a/b or /a/b/**';
    if (part === '.' || part === '..')
      return 'has a . or .. segment; paths are normalized before matching, so it could never match';
    if (part === '**') return 'may use ** only as its last segment';
    if (paramSegment.test(part)) segments.push({ kind: 'param', name: part.slice(1) });
    else if (staticSegment.test(part)) segments.push({ kind: 'static', value: part.toLowerCase() });
    else return `has an unsafe segment "${part}": use letters, digits, - . _ ~, a :param or a final /**`;
  }
  return { source, segments, prefix };
}

/** Whether the pattern matches the normalized, lower-cased segments. */
export function matchPattern(pattern: PathPattern, segments: readonly string[]): boolean {
  const wanted = pattern.segments;
  if (pattern.prefix ? segments.length < wanted.length : segments.length !== wanted.length) return false;
  for (let i = 0; i < wanted.length; i++) {
    const part = wanted[i]!;
    if (part.kind === 'static' && part.value !== segments[i]) return false;
  }
  return true;
}

/**
 * Orders patterns from most to least specific: segment by segment, static beats :param;
 * then more segments beat fewer; an exact pattern beats a /** prefix of the same segments.
 * Negative when `a` is more specific.
 */
export function comparePatterns(a: PathPattern, b: PathPattern): number {
  const shared = Math.min(a.segments.length, b.segments.length);
  for (let i = 0; i < shared; i++) {
    const rank = (s: PatternSegment) => (s.kind === 'static' ? 0 : 1);
    const diff = rank(a.segments[i]!) - rank(b.segments[i]!);
    if (diff !== 0) return diff;
  }
  if (a.segments.length !== b.segments.length) return b.segments.length - a.segments.length;
  return Number(a.prefix) - Number(b.prefix);
}

/** Whether every path `inner` matches is also matched by `outer`. */
export function patternCovers(outer: PathPattern, inner: PathPattern): boolean {
  if (!outer.prefix && (inner.prefix || inner.segments.length !== outer.segments.length)) return false;
  if (inner.segments.length < outer.segments.length) return false;
  return outer.segments.every((part, i) => {
    const other = inner.segments[i]!;
    return part.kind === 'param' || (other.kind === 'static' && other.value === part.value);
  });
}
