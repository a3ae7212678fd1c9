import { createHash } from 'node:crypto';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import type { CapturedBody } from './bounded-copy.js';
import { compareJson, type CompareRules, type Difference } from './compare.js';

/** One upstream's answer to a shadowed request, or why there was none. */
export type Answer =
  | { status: number; headers: Record<string, string | string[] | undefined>; body: CapturedBody }
  | { error: string };

/** The comparison rules of one route (routes.yaml `shadow`). */
interface SampleRules extends CompareRules {
  /** Response headers compared; `*` wildcards. */
  headers?: readonly string[];
  ignoreHeaders?: readonly string[];
}

export interface CompareJob {
  primary: Answer;
  candidate: Answer;
  /** The serving upstream asked a second time (idempotent requests): what differs there is noise. */
  secondary?: Answer | undefined;
  rules: SampleRules;
  /** Largest decoded body compared (compressed bodies are decoded up to this). */
  bodyLimit: number;
}

export interface CompareResult {
  /** Primary against candidate. */
  differences: Difference[];
  /** Primary against secondary; undefined when there was no secondary answer. */
  noise: Difference[] | undefined;
  /** Whether a body was compared by length and hash only (over the copy limit). */
  byHash: boolean;
}

const wildcard = (pattern: string) =>
  new RegExp(
    `^${pattern
      .toLowerCase()
      .replace(/[.+?^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')}$`,
  );

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** A body with its content-encoding (gzip, br, deflate) undone, at most `limit` bytes decoded. */
export function decoded(body: Uint8Array, encoding: string | undefined, limit: number): Uint8Array {
  const options = { maxOutputLength: limit };
  switch (encoding?.trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return gunzipSync(body, options);
    case 'br':
      return brotliDecompressSync(body, options);
    case 'deflate':
      return inflateSync(body, options);
    default:
      return body;
  }
}

const isJson = (type: string | undefined) => type !== undefined && /[/+]json\b/i.test(type);

type Parsed = { json: unknown; bytes: Uint8Array } | { bytes: Uint8Array } | { hashed: CapturedBody };

function parse(answer: Extract<Answer, { status: number }>, limit: number): Parsed {
  const { body } = answer;
  if (!body.bytes) return { hashed: body };
  let bytes: Uint8Array;
  try {
    bytes = decoded(body.bytes, header(answer.headers, 'content-encoding'), limit);
  } catch {
    // Not encoded after all (a capture tool that stored the decoded body), or over the limit decoded.
    bytes = body.bytes;
  }
  if (!isJson(header(answer.headers, 'content-type')) || bytes.length === 0) return { bytes };
  try {
    return { json: JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8')), bytes };
  } catch {
    return { bytes };
  }
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function compareBodies(a: Parsed, b: Parsed, rules: SampleRules, out: Difference[]): boolean {
  const body = (kind: Difference['kind'], primary?: unknown, candidate?: unknown) =>
    out.push({ kind, path: 'body', field: 'body', primary, candidate });
  // A body over the copy limit (or cut off past the primary's length) is known by length and hash only.
  if ('hashed' in a || 'hashed' in b) return compareSummaries(a, b, body);
  if ('json' in a && 'json' in b) {
    out.push(...compareJson(a.json, b.json, rules));
    return false;
  }
  if ('json' in a !== 'json' in b) {
    body('type', 'json' in a ? 'json' : 'bytes', 'json' in b ? 'json' : 'bytes');
    return false;
  }
  return compareSummaries(a, b, body);
}

/** Bodies by length, then by hash; true when one was known by its hash only. */
function compareSummaries(
  a: Parsed,
  b: Parsed,
  body: (kind: Difference['kind'], primary?: unknown, candidate?: unknown) => void,
): boolean {
  const summary = (p: Parsed) => {
    if ('hashed' in p) return { length: p.hashed.length, sha256: p.hashed.sha256 };
    return { length: p.bytes.length, sha256: sha256(p.bytes) };
  };
  const [sa, sb] = [summary(a), summary(b)];
  if (sa.length !== sb.length) body('length', sa.length, sb.length);
  else if (sa.sha256 !== sb.sha256) body('value', `sha256:${sa.sha256}`, `sha256:${sb.sha256}`);
  return 'hashed' in a || 'hashed' in b;
}

/** Status, chosen headers and bodies of two answers; differences typed and placed. */
function compareAnswers(
  a: Extract<Answer, { status: number }>,
  b: Extract<Answer, { status: number }>,
  rules: SampleRules,
  limit: number,
): { differences: Difference[]; byHash: boolean } {
  const differences: Difference[] = [];
  if (a.status !== b.status)
    differences.push({ kind: 'value', path: 'status', field: 'status', primary: a.status, candidate: b.status });
  const chosen = (rules.headers ?? ['content-type']).map(wildcard);
  const ignored = (rules.ignoreHeaders ?? []).map(wildcard);
  const names = new Set([...Object.keys(a.headers), ...Object.keys(b.headers)]);
  for (const name of names) {
    if (!chosen.some((p) => p.test(name)) || ignored.some((p) => p.test(name))) continue;
    const [va, vb] = [header(a.headers, name), header(b.headers, name)];
    const path = `headers.${name}`;
    if (va === undefined) differences.push({ kind: 'extra', path, field: path, candidate: vb });
    else if (vb === undefined) differences.push({ kind: 'missing', path, field: path, primary: va });
    else if (va !== vb) differences.push({ kind: 'value', path, field: path, primary: va, candidate: vb });
  }
  const byHash = compareBodies(parse(a, limit), parse(b, limit), rules, differences);
  return { differences, byHash };
}

/**
 * The comparison of one shadowed request: primary against candidate, and for idempotent
 * requests primary against secondary (the noise). Pure and synchronous: it runs in the
 * comparison worker pool, off the event loop that proxies, and inline in offline replay's tests.
 */
export function compareSample(job: CompareJob): CompareResult {
  const { primary, candidate, secondary, rules, bodyLimit } = job;
  if ('error' in primary) throw new Error(`the primary answer is missing: ${primary.error}`);
  if ('error' in candidate) throw new Error(`the candidate did not answer: ${candidate.error}`);
  const main = compareAnswers(primary, candidate, rules, bodyLimit);
  const noise =
    secondary && !('error' in secondary) ? compareAnswers(primary, secondary, rules, bodyLimit).differences : undefined;
  return { differences: main.differences, noise, byHash: main.byHash };
}
