/**
 * Request-target normalization, done before matching so that no spelling of a path can reach
 * an upstream the route table does not assign it to. The upstream receives the normalized path.
 *
 * Rules (documented in docs/router.md):
 * - origin-form only (`/...`); absolute-form, `*`, fragments, raw control, space, non-ASCII and
 *   backslash characters are refused (400);
 * - percent-encoded unreserved characters (RFC 3986 §2.3) are decoded; other encodings keep
 *   their meaning with upper-case hex; an encoded `/`, `\` or NUL is refused (400), since
 *   upstreams disagree on whether it separates segments;
 * - repeated slashes collapse; a trailing slash is dropped; `.` and `..` segments (also when
 *   encoded) are resolved, and a `..` above the root is refused (400);
 * - matching ignores case (as express and ASP.NET do); the upstream receives the original case;
 * - a path longer than the limit gets 414.
 */
export type NormalizedTarget =
  | {
      ok: true;
      path: string /** Lower-cased path segments, for matching. */;
      segments: readonly string[] /** Raw query including `?`, or ''. */;
      search: string;
    }
  | { ok: false; status: 400 | 414; reason: string };

const hex = '0123456789ABCDEF';
const unreserved = /[A-Za-z0-9\-._~]/;

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 65 && code <= 70) return code - 55;
  if (code >= 97 && code <= 102) return code - 87;
  return -1;
}

/** Decodes escapes of unreserved characters, upper-cases the rest; undefined if malformed, null if an encoded /, \\ or NUL. */
function decodeUnreserved(rawPath: string): string | undefined | null {
  let decoded = '';
  let from = 0;
  for (let i = rawPath.indexOf('%'); i !== -1; i = rawPath.indexOf('%', i + 3)) {
    const high = hexValue(rawPath.charCodeAt(i + 1));
    const low = hexValue(rawPath.charCodeAt(i + 2));
    if (high < 0 || low < 0) return undefined;
    const byte = high * 16 + low;
    if (byte === 0x2f || byte === 0x5c || byte === 0) return null;
    const char = String.fromCharCode(byte);
    decoded += rawPath.slice(from, i) + (byte < 0x80 && unreserved.test(char) ? char : `%${hex[high]}${hex[low]}`);
    from = i + 3;
  }
  return decoded + rawPath.slice(from);
}

function reject(reason: string): NormalizedPath {
  return { ok: false, status: 400, reason };
}

// Busy paths repeat: remember the last few thousand results (bounded; oldest out first).
type NormalizedPath =
  | { ok: true; path: string; segments: readonly string[] }
  | { ok: false; status: 400; reason: string };

const recent = new Map<string, NormalizedPath>();
const recentLimit = 4096;

/** Normalizes a request target (see the rules above). Paths are cached; the query is never part of it. */
export function normalizeTarget(target: string, maxLength = 2048): NormalizedTarget {
  if (target.length > maxLength)
    return { ok: false, status: 414, reason: `the request target is longer than ${maxLength} characters` };
  const queryAt = target.indexOf('?');
  const rawPath = queryAt === -1 ? target : target.slice(0, queryAt);
  let result = recent.get(rawPath);
  if (!result) {
    result = normalizePath(rawPath);
    if (recent.size >= recentLimit) recent.delete(recent.keys().next().value!);
    recent.set(rawPath, result);
  }
  return result.ok
    ? { ok: true, path: result.path, segments: result.segments, search: queryAt === -1 ? '' : target.slice(queryAt) }
    : result;
}

function normalizePath(rawPath: string): NormalizedPath {
  if (rawPath.charCodeAt(0) !== 47) return reject('the request target must be a path starting with /');

  let percent = false;
  for (let i = 0; i < rawPath.length; i++) {
    const code = rawPath.charCodeAt(i);
    if (code <= 0x20 || code >= 0x7f || code === 0x5c || code === 0x23) {
      return reject('the path contains a character that must be percent-encoded (control, space, #, \\ or non-ASCII)');
    }
    if (code === 0x25) percent = true;
  }
  const decoded = percent ? decodeUnreserved(rawPath) : rawPath;
  if (decoded === undefined) return reject('the path has a malformed percent-encoding');
  if (decoded === null)
    return reject('the path contains an encoded /, \\ or NUL, which upstreams interpret differently');
  // Fast path: nothing to resolve.
  if (!decoded.includes('//') && !decoded.includes('/.') && (decoded.length === 1 || !decoded.endsWith('/'))) {
    const segments = decoded === '/' ? [] : decoded.slice(1).toLowerCase().split('/');
    return { ok: true, path: decoded, segments };
  }

  const out: string[] = [];
  for (const segment of decoded.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (out.length === 0) return reject('the path climbs above the root with ..');
      out.pop();
      continue;
    }
    out.push(segment);
  }
  return { ok: true, path: `/${out.join('/')}`, segments: out.map((s) => s.toLowerCase()) };
}
