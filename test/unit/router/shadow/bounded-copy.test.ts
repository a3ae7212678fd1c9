import { createHash, randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { BoundedCopy } from '../../../../router/src/shadow/bounded-copy.js';

/** The garbage collector, to see whether the copy still holds chunks it was given. */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

describe('BoundedCopy', () => {
  it('keeps a body under the limit byte for byte, without a hash', () => {
    const chunks = [randomBytes(100), randomBytes(0), randomBytes(924)];
    const copy = new BoundedCopy(1024);
    for (const chunk of chunks) copy.add(chunk);
    const result = copy.result();
    expect(result.length).toBe(1024);
    expect(Buffer.from(result.bytes!).equals(Buffer.concat(chunks))).toBe(true);
    expect(result.sha256).toBeUndefined();
  });

  it('keeps an empty body as zero bytes', () => {
    expect(new BoundedCopy(10).result()).toEqual({ bytes: Buffer.alloc(0), length: 0 });
  });

  it('keeps only the length and the SHA-256 of the whole body once it passes the limit', () => {
    const chunks = Array.from({ length: 40 }, () => randomBytes(1000));
    const copy = new BoundedCopy(4096);
    for (const chunk of chunks) copy.add(chunk);
    const result = copy.result();
    expect(result.bytes).toBeUndefined();
    expect(result.length).toBe(40_000);
    expect(result.sha256).toBe(createHash('sha256').update(Buffer.concat(chunks)).digest('hex'));
  });

  it('passes the limit on the one byte over it, in a single chunk too', () => {
    const body = randomBytes(4097);
    const copy = new BoundedCopy(4096);
    copy.add(body);
    expect(copy.result()).toEqual({ length: 4097, sha256: createHash('sha256').update(body).digest('hex') });
    const exact = new BoundedCopy(4096);
    exact.add(body.subarray(0, 4096));
    expect(exact.result().bytes).toHaveLength(4096);
  });

  it('lets go of the bytes it kept once the body passes the limit', async () => {
    const gc = collector();
    const copy = new BoundedCopy(1024 * 1024);
    const refs: Array<WeakRef<Buffer>> = [];
    // In a function of its own, so no local variable holds a chunk.
    (() => {
      for (let i = 0; i < 8; i++) {
        const chunk = Buffer.alloc(256 * 1024, i);
        refs.push(new WeakRef(chunk));
        copy.add(chunk);
      }
    })();
    // WeakRefs hold their target until the current job ends.
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    expect(refs.filter((ref) => ref.deref() !== undefined)).toHaveLength(0);
    expect(copy.length).toBe(2 * 1024 * 1024);
    expect(copy.result().bytes).toBeUndefined();
  });

  it('holds the bytes of a body under the limit until its result is taken', async () => {
    // The control for the test above: the same check sees chunks that are still kept.
    const gc = collector();
    const copy = new BoundedCopy(4 * 1024 * 1024);
    const refs: Array<WeakRef<Buffer>> = [];
    (() => {
      for (let i = 0; i < 4; i++) {
        const chunk = Buffer.alloc(256 * 1024, i);
        refs.push(new WeakRef(chunk));
        copy.add(chunk);
      }
    })();
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    expect(refs.filter((ref) => ref.deref() !== undefined)).toHaveLength(4);
    expect(copy.result().bytes).toHaveLength(1024 * 1024);
  });
});
