import { createHash, type Hash } from 'node:crypto';

/** A response body as shadow traffic keeps it: the bytes up to a limit, beyond it only length and hash. */
export interface CapturedBody {
  /** The whole body, when it fit the limit. */
  bytes?: Uint8Array;
  length: number;
  /** SHA-256 (hex) of the whole body, when it did not fit: such bodies are compared by length and hash. */
  sha256?: string;
}

/**
 * Keeps a copy of a body streaming past, bounded: up to `limit` bytes whole, beyond it a running
 * hash and length only, so a 50 MB answer costs the router a hash, never 50 MB.
 */
export class BoundedCopy {
  readonly #limit: number;
  #chunks: Buffer[] = [];
  #length = 0;
  #hash: Hash | undefined;

  constructor(limit: number) {
    this.#limit = limit;
  }

  get length(): number {
    return this.#length;
  }

  add(chunk: Buffer): void {
    this.#length += chunk.length;
    if (this.#hash) return void this.#hash.update(chunk);
    this.#chunks.push(chunk);
    if (this.#length <= this.#limit) return;
    this.#hash = createHash('sha256');
    for (const kept of this.#chunks) this.#hash.update(kept);
    this.#chunks = [];
  }

  result(): CapturedBody {
    if (this.#hash) return { length: this.#length, sha256: this.#hash.digest('hex') };
    return { bytes: Buffer.concat(this.#chunks, this.#length), length: this.#length };
  }
}
