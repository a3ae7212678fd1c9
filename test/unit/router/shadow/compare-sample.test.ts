import { createHash } from 'node:crypto';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { type Answer, type CompareJob, compareSample } from '../../../../router/src/shadow/compare-sample.js';

type Headers = Record<string, string | string[] | undefined>;

const answer = (status: number, headers: Headers, body: string | Buffer): Answer => {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  return { status, headers, body: { bytes, length: bytes.length } };
};
const json = (value: unknown, headers: Headers = {}, status = 200) =>
  answer(status, { 'content-type': 'application/json; charset=utf-8', ...headers }, JSON.stringify(value));
const text = (body: string, headers: Headers = {}) => answer(200, { 'content-type': 'text/plain', ...headers }, body);
const sha256 = (body: string) => createHash('sha256').update(body).digest('hex');
/** A body over the copy limit: known by its length and hash only. */
const hashed = (body: string, headers: Headers = { 'content-type': 'application/octet-stream' }): Answer => ({
  status: 200,
  headers,
  body: { length: Buffer.byteLength(body), sha256: sha256(body) },
});

const compare = (primary: Answer, candidate: Answer, rest: Partial<CompareJob> = {}) =>
  compareSample({ primary, candidate, rules: {}, bodyLimit: 1024 * 1024, ...rest });

describe('compareSample', () => {
  it('reports a different status at `status`', () => {
    const { differences } = compare(json({ ok: true }), json({ ok: true }, {}, 503));
    expect(differences).toEqual([{ kind: 'value', path: 'status', field: 'status', primary: 200, candidate: 503 }]);
  });

  it('compares only content-type among headers unless the route chooses others', () => {
    const primary = json({}, { etag: '"a"', 'x-version': '1' });
    const candidate = answer(200, { 'content-type': 'application/json', etag: '"b"' }, '{}');
    expect(compare(primary, candidate).differences).toEqual([
      {
        kind: 'value',
        path: 'headers.content-type',
        field: 'headers.content-type',
        primary: 'application/json; charset=utf-8',
        candidate: 'application/json',
      },
    ]);
  });

  it('compares the chosen headers by wildcard, leaving out ignored ones; missing and extra are typed', () => {
    const primary = json({}, { 'x-version': '1', 'x-request-id': 'r1', 'x-cache': 'hit', etag: '"a"' });
    const candidate = json({}, { 'x-version': '2', 'x-request-id': 'r2', 'x-region': 'eu', etag: '"b"' });
    const rules = { headers: ['X-*'], ignoreHeaders: ['x-request-*'] };
    expect(compare(primary, candidate, { rules }).differences).toEqual([
      { kind: 'value', path: 'headers.x-version', field: 'headers.x-version', primary: '1', candidate: '2' },
      { kind: 'missing', path: 'headers.x-cache', field: 'headers.x-cache', primary: 'hit' },
      { kind: 'extra', path: 'headers.x-region', field: 'headers.x-region', candidate: 'eu' },
    ]);
  });

  it('joins repeated header values before comparing them', () => {
    const primary = json({}, { vary: ['accept', 'origin'] });
    const candidate = json({}, { vary: 'accept, origin' });
    expect(compare(primary, candidate, { rules: { headers: ['vary'] } }).differences).toEqual([]);
  });

  it('compares JSON bodies structurally with the route rules', () => {
    const primary = json({ id: 1, price: 10, at: 't1', tags: ['a', 'b'] });
    const candidate = json({ id: 1, price: 10.004, at: 't2', tags: ['b', 'a'], extra: true });
    const rules = { ignore: ['at'], tolerance: 0.01, unordered: ['tags'] };
    expect(compare(primary, candidate, { rules }).differences).toEqual([
      { kind: 'extra', path: '$.extra', field: '$.extra', candidate: true },
    ]);
    expect(compare(primary, candidate).differences.map((d) => d.path)).toEqual([
      '$.price',
      '$.at',
      '$.tags',
      '$.extra',
    ]);
  });

  it('decodes gzip and br bodies before comparing the JSON in them', () => {
    const gzipped = answer(
      200,
      { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      gzipSync(JSON.stringify({ id: 1, price: 10 })),
    );
    const brotli = answer(
      200,
      { 'content-type': 'application/json', 'content-encoding': 'br' },
      brotliCompressSync(JSON.stringify({ id: 1, price: 11 })),
    );
    const result = compare(gzipped, brotli);
    expect(result.differences).toEqual([
      { kind: 'value', path: '$.price', field: '$.price', primary: 10, candidate: 11 },
    ]);
    expect(result.byHash).toBe(false);
    expect(compare(gzipped, json({ id: 1, price: 10 }, { 'content-type': 'application/json' })).differences).toEqual(
      [],
    );
  });

  it('reports JSON against a body that is not JSON as one `type` difference at `body`', () => {
    const type = { 'content-type': 'application/json' };
    const result = compare(json({ id: 1 }, type), answer(200, type, '<html>oops</html>'));
    expect(result.differences).toEqual([
      { kind: 'type', path: 'body', field: 'body', primary: 'json', candidate: 'bytes' },
    ]);
    expect(compare(text('a'), json([1])).differences).toContainEqual({
      kind: 'type',
      path: 'body',
      field: 'body',
      primary: 'bytes',
      candidate: 'json',
    });
  });

  it('compares other bodies by bytes: the length first, then the hash', () => {
    expect(compare(text('hello'), text('hello')).differences).toEqual([]);
    expect(compare(text('hello'), text('hello!')).differences).toEqual([
      { kind: 'length', path: 'body', field: 'body', primary: 5, candidate: 6 },
    ]);
    expect(compare(text('hello'), text('jello')).differences).toEqual([
      {
        kind: 'value',
        path: 'body',
        field: 'body',
        primary: `sha256:${sha256('hello')}`,
        candidate: `sha256:${sha256('jello')}`,
      },
    ]);
  });

  it('compares a body over the copy limit by length and hash, and says so', () => {
    const big = 'x'.repeat(5000);
    const same = compare(hashed(big), answer(200, { 'content-type': 'application/octet-stream' }, big));
    expect(same).toEqual({ differences: [], noise: undefined, byHash: true });
    const longer = compare(hashed(big), hashed(`${big}y`));
    expect(longer.differences).toEqual([
      { kind: 'length', path: 'body', field: 'body', primary: 5000, candidate: 5001 },
    ]);
    expect(longer.byHash).toBe(true);
    const other = compare(hashed(big), hashed(`${big.slice(1)}y`));
    expect(other.differences).toEqual([
      {
        kind: 'value',
        path: 'body',
        field: 'body',
        primary: `sha256:${sha256(big)}`,
        candidate: `sha256:${sha256(`${big.slice(1)}y`)}`,
      },
    ]);
    // A JSON body over the limit cannot be parsed: it too is compared by hash, never called equal blindly.
    const jsonBig = JSON.stringify({ items: big });
    const type = { 'content-type': 'application/json' };
    const jsonHashed = hashed(jsonBig, type);
    expect(compare(jsonHashed, json({ items: big }, type)).differences).toEqual([]);
    expect(compare(jsonHashed, json({ items: `${big.slice(1)}z` }, type)).differences).toEqual([
      expect.objectContaining({ kind: 'value', path: 'body' }),
    ]);
  });

  it('has no noise without a secondary answer, and the primary’s differences from it with one', () => {
    const primary = json({ id: 1, requestId: 'a' });
    const candidate = json({ id: 2, requestId: 'b' });
    expect(compare(primary, candidate).noise).toBeUndefined();
    expect(compare(primary, candidate, { secondary: { error: 'ECONNRESET' } }).noise).toBeUndefined();
    expect(compare(primary, candidate, { secondary: json({ id: 1, requestId: 'a' }) }).noise).toEqual([]);
    const { differences, noise } = compare(primary, candidate, { secondary: json({ id: 1, requestId: 'c' }) });
    expect(noise).toEqual([{ kind: 'value', path: '$.requestId', field: '$.requestId', primary: 'a', candidate: 'c' }]);
    expect(differences.map((d) => d.path)).toEqual(['$.id', '$.requestId']);
  });

  it('refuses to compare without a primary or a candidate answer', () => {
    expect(() => compare({ error: 'timeout' }, json({}))).toThrow('the primary answer is missing: timeout');
    expect(() => compare(json({}), { error: 'ECONNREFUSED' })).toThrow('the candidate did not answer: ECONNREFUSED');
  });
});
