import { createWriteStream, type WriteStream } from 'node:fs';
import type { Logger } from '../../../platform/src/index.js';
import type { ServedSample } from './mirror.js';
import { decoded } from './compare-sample.js';
import { redactHeaders, redactJson, type RedactRules } from './redact.js';

/**
 * One recorded exchange, a line of a capture file (JSON lines): the request as the serving
 * upstream got it and the response the client got, credentials redacted; bodies base64, or
 * for responses over the copy limit only their length and hash.
 */
export interface CapturedExchange {
  v: 1;
  at: string;
  route: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  response: {
    upstream: string;
    status: number;
    headers: Record<string, string>;
    body?: string;
    length: number;
    sha256?: string;
  };
}

type Headers = Record<string, string | string[] | undefined>;

/**
 * A JSON body with its secrets redacted, decoded first when compressed (so nothing hides in
 * gzip); the headers lose content-encoding when the body was decoded. Other bodies pass as they are.
 */
export function redactedBody(
  bytes: Uint8Array,
  headers: Headers,
  rules: RedactRules,
  limit = 16 * 1024 * 1024,
): { bytes: Buffer; headers: Headers } {
  const type = headers['content-type'];
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (typeof type !== 'string' || !/[/+]json\b/i.test(type)) return { bytes: buffer, headers };
  try {
    const encoding = headers['content-encoding'];
    const plain = Buffer.from(decoded(buffer, typeof encoding === 'string' ? encoding : undefined, limit));
    const { 'content-encoding': _, ...rest } = headers;
    return { bytes: Buffer.from(JSON.stringify(redactJson(JSON.parse(plain.toString('utf8')), rules))), headers: rest };
  } catch {
    return { bytes: buffer, headers };
  }
}

/** The exchange as a capture line. */
function captureLine(route: string, sample: ServedSample, rules: RedactRules): CapturedExchange {
  const { body } = sample;
  const request = sample.requestBody
    ? redactedBody(sample.requestBody, redactHeaders(sample.requestHeaders, rules), rules)
    : undefined;
  const response = body.bytes ? redactedBody(body.bytes, sample.headers, rules) : undefined;
  return {
    v: 1,
    at: new Date().toISOString(),
    route,
    method: sample.method,
    path: sample.path,
    headers: redactHeaders(request?.headers ?? sample.requestHeaders, rules),
    ...(request ? { body: request.bytes.toString('base64') } : {}),
    response: {
      upstream: sample.servedBy.name,
      status: sample.status,
      headers: redactHeaders(response?.headers ?? sample.headers, rules),
      ...(response ? { body: response.bytes.toString('base64') } : {}),
      length: response ? response.bytes.length : body.length,
      ...(body.sha256 ? { sha256: body.sha256 } : {}),
    },
  };
}

/**
 * Appends sampled exchanges to a capture file for `ficus replay`, bounded: it stops at `maxBytes`,
 * and while the disk is behind (the stream's buffer full) exchanges are skipped, never queued.
 */
export class CaptureWriter {
  readonly #stream: WriteStream;
  readonly #maxBytes: number;
  readonly #rules: RedactRules;
  readonly #logger: Logger;
  #written = 0;
  #behind = false;
  #full = false;
  skipped = 0;

  constructor(file: string, options: { maxBytes: number; rules: RedactRules; logger: Logger }) {
    this.#stream = createWriteStream(file, { flags: 'a' });
    this.#stream.on('error', (error) => {
      this.#full = true;
      options.logger.error({ file, err: error.message }, 'capture file failed; capturing stopped');
    });
    this.#stream.on('drain', () => {
      this.#behind = false;
    });
    this.#maxBytes = options.maxBytes;
    this.#rules = options.rules;
    this.#logger = options.logger.child({ capture: file });
  }

  write(route: string, sample: ServedSample): void {
    if (this.#full || this.#behind) {
      this.skipped++;
      return;
    }
    const line = `${JSON.stringify(captureLine(route, sample, this.#rules))}\n`;
    if (this.#written + line.length > this.#maxBytes) {
      this.#full = true;
      this.#logger.warn({ bytes: this.#written }, 'capture file reached its size limit; capturing stopped');
      return;
    }
    this.#written += line.length;
    this.#behind = !this.#stream.write(line);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#stream.end(resolve));
  }
}
