import { Pool, type Dispatcher } from 'undici';
import { BoundedCopy } from './bounded-copy.js';
import type { Answer } from './compare-sample.js';

export interface AskBounds {
  /** Bytes of a body kept whole (beyond: length and hash). */
  bodyLimit: number;
  /** Stop reading past this many bytes: the answer already differs in length. */
  readLimit: number;
  /** Longest wait for headers and body together. */
  timeoutMs: number;
}

/** An undici pool for mirrored or replayed requests, apart from the pools that serve clients. */
export function mirrorPool(
  origin: string,
  options: { connections: number; timeoutMs: number; connectTimeoutMs?: number },
): Pool {
  return new Pool(origin, {
    connections: options.connections,
    connect: { timeout: Math.min(options.connectTimeoutMs ?? 1000, options.timeoutMs) },
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
  });
}

/**
 * One request to a candidate (or the serving upstream again); its answer bounded in time and
 * size, or why there is none. Never throws: a hang, a reset or a refusal is an answer's absence.
 */
export async function ask(
  pool: Dispatcher,
  name: string,
  request: { method: string; path: string; headers: readonly string[]; body: Uint8Array | null },
  bounds: AskBounds,
): Promise<Answer> {
  let body: Dispatcher.ResponseData['body'] | undefined;
  try {
    const response = await pool.request({
      method: request.method as Dispatcher.HttpMethod,
      path: request.path,
      headers: request.headers as string[],
      body: request.body,
      signal: AbortSignal.timeout(bounds.timeoutMs),
    });
    body = response.body;
    const copy = new BoundedCopy(bounds.bodyLimit);
    for await (const chunk of response.body) {
      copy.add(chunk as Buffer);
      if (copy.length > bounds.readLimit) {
        response.body.destroy();
        return {
          status: response.statusCode,
          headers: response.headers,
          body: { length: copy.length, sha256: 'over-length' },
        };
      }
    }
    return { status: response.statusCode, headers: response.headers, body: copy.result() };
  } catch (error) {
    body?.destroy();
    const e = error as NodeJS.ErrnoException;
    return { error: `${name}: ${e.code ?? e.name}` };
  }
}
