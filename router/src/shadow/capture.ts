import { createWriteStream, type WriteStream } from 'node:fs';
import type { Logger } from '../../../platform/src/index.js';
import type { ServedSample } from './mirror.js';
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

function redactedBody(bytes: Uint8Array, contentType: string | undefined, rules: RedactRules): Buffer {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (!contentType || !/[/+]json\b/i.test(contentType)) return buffer;
  try {
    return Buffer.from(JSON.stringify(redactJson(JSON.parse(buffer.toString('utf8')), rules)));
  } catch {
    return buffer;
  }
}

/** The exchange as a capture line. */
export function captureLine(route: string, sample: ServedSample, rules: RedactRules): CapturedExchange {
  const request = redactHeaders(sample.requestHeaders, rules);
  const response = redactHeaders(sample.headers, rules);
  const { body } = sample;
  return {
    v: 1,
    at: new Date().toISOString(),
    route,
    method: sample.method,
    path: sample.path,
    headers: request,
    ...(sample.requestBody
      ? { body: redactedBody(sample.requestBody, request['content-type'], rules).toString('base64') }
      : {}),
    response: {
      upstream: sample.servedBy.name,
      status: sample.status,
      headers: response,
      ...(body.bytes ? { body: redactedBody(body.bytes, response['content-type'], rules).toString('base64') } : {}),
      length: body.length,
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
