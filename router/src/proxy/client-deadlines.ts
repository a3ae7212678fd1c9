import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';

/**
 * How long the router waits on a client. A slow or stalled client costs the router a
 * connection, never an upstream slot for longer than these: small bodies are read in full
 * before an upstream slot is taken (as nginx buffers), and every other wait has a deadline.
 * @example
 * createRouter({ ..., clientDeadlines: { headersMs: 10_000, bodyIdleMs: 10_000, requestMs: 30_000, sendMs: 10_000 } });
 */
export interface ClientDeadlines {
  /** Request line and headers must all arrive within this (node's `server.headersTimeout`); then 408. */
  headersMs: number;
  /**
   * Longest the client may send nothing of its request body while the router is ready for more;
   * then 408 and the connection is closed.
   */
  bodyIdleMs: number;
  /** The whole request, headers and body, must arrive within this (node's `server.requestTimeout`); then 408. */
  requestMs: number;
  /** Longest a response waits for the client to take more of it (a client that stopped reading); then the connection is closed. */
  sendMs: number;
}

export const defaultClientDeadlines: Readonly<ClientDeadlines> = Object.freeze({
  headersMs: 10_000,
  bodyIdleMs: 10_000,
  requestMs: 30_000,
  sendMs: 10_000,
});

/** Which client deadline ran out, as counted in `ficus_router_client_timeouts_total`. */
export type ClientDeadline = 'headers' | 'body' | 'request' | 'send';

const clientTimeoutCode = 'FICUS_ERR_CLIENT_TIMEOUT';

const messages: Record<ClientDeadline, (ms: number) => string> = {
  headers: (ms) => `the request headers took longer than ${ms} ms to arrive`,
  body: (ms) => `the request body paused for more than ${ms} ms`,
  request: (ms) => `the request took longer than ${ms} ms to arrive`,
  send: (ms) => `the client took no response data for ${ms} ms`,
};

export class ClientTimeoutError extends Error {
  readonly code = clientTimeoutCode;
  readonly deadline: ClientDeadline;
  constructor(deadline: ClientDeadline, ms: number) {
    super(messages[deadline](ms));
    this.deadline = deadline;
  }
}

const timedOutStreams = new WeakSet<Readable>();

/** Whether a request stream was ended by a client deadline. */
export function timedOut(stream: Readable): boolean {
  return timedOutStreams.has(stream) || (stream.errored as { code?: string } | null)?.code === clientTimeoutCode;
}

/**
 * Fails the request when the client sends nothing of its body for `idleMs` while the router
 * is ready for more: time the router itself is not reading (an upstream still connecting or
 * slow to take the body, so the request's buffer is full) is not the client's and does not
 * count. Checked a few times per deadline; cleared when the body has arrived. The body's
 * reader (the read-ahead, or the upstream request) fails with a ClientTimeoutError, so the
 * client is still answered 408 where it can be; the connection is closed once that answer is out.
 */
export function watchBodyIdle(
  req: IncomingMessage,
  res: ServerResponse,
  idleMs: number,
  onTimeout: (error: ClientTimeoutError) => void,
): void {
  const socket = req.socket;
  let bytes = socket.bytesRead;
  let quietSince = performance.now();
  const check = () => {
    const now = performance.now();
    const routersTurn = req.readableLength >= req.readableHighWaterMark || socket.isPaused();
    if (socket.bytesRead !== bytes || routersTurn) {
      bytes = socket.bytesRead;
      quietSince = now;
      return;
    }
    if (now - quietSince < idleMs) return;
    stop();
    const error = new ClientTimeoutError('body', idleMs);
    timedOutStreams.add(req);
    onTimeout(error);
    // Nobody reads the body yet (an upstream still connecting): end it; its reader fails on it later.
    if (res.headersSent || res.destroyed || req.listenerCount('error') === 0) return void req.destroy(error);
    res.once('finish', () => socket.destroy());
    req.emit('error', error);
  };
  const timer = setInterval(check, Math.max(25, Math.floor(idleMs / 4)));
  timer.unref();
  const stop = () => clearInterval(timer);
  req.once('end', stop);
  req.once('close', stop);
}

/**
 * Reads a body of declared length up to `limit` in full, so it can be sent again (fallback,
 * shadow) and a slow client holds no upstream slot meanwhile. Undefined (nothing read) for
 * larger or chunked bodies, which are streamed once instead.
 */
export async function readSmallBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length']);
  if (!(declared <= limit) || req.headers['transfer-encoding'] !== undefined) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    chunks.push(chunk);
  }
  if (size !== declared) throw new Error(`the request body ended after ${size} of ${declared} bytes`);
  return Buffer.concat(chunks, size);
}

/**
 * Streams `body` to the client, pausing it while the client does not take more; a client that
 * takes nothing for `sendMs` is cut off (`onStall`), which frees the upstream slot.
 */
export function pipeWithDeadline(body: Readable, res: ServerResponse, sendMs: number, onStall: () => void): void {
  let timer: NodeJS.Timeout | undefined;
  const stalled = () => {
    onStall();
    res.destroy();
  };
  body.on('data', (chunk: Buffer) => {
    if (res.write(chunk)) return;
    body.pause();
    timer = setTimeout(stalled, sendMs);
  });
  res.on('drain', () => {
    clearTimeout(timer);
    body.resume();
  });
  res.once('close', () => clearTimeout(timer));
  body.once('end', () => res.end());
}
