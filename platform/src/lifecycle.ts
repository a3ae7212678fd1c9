import { once } from 'node:events';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FicusError } from './errors.js';
import { writeProblem } from './http/problem.js';
import type { Logger } from './logger.js';

/**
 * Graceful shutdown state of one HTTP server. On shutdown it stops taking new work (503 with
 * `Connection: close`, readiness fails), lets in-flight requests finish, then closes the listener
 * and every connection, then the resources (pools), in that order.
 */
export class Lifecycle {
  #draining = false;
  #inFlight = 0;
  #idle: Array<() => void> = [];

  get draining(): boolean {
    return this.#draining;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Answers 503 once draining; otherwise counts the request until its response is done.
   * Works as express middleware and in front of a plain node:http handler.
   */
  readonly middleware = (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    if (this.#draining) {
      const error = new FicusError(
        'FICUS_ERR_SHUTTING_DOWN',
        'this instance is shutting down; retry on another instance',
      );
      const requestId = (req as { id?: unknown }).id;
      writeProblem(
        res,
        error,
        { instance: req.url ?? '', ...(typeof requestId === 'string' ? { requestId } : {}) },
        { connection: 'close', 'retry-after': '1' },
      );
      return;
    }
    this.#inFlight++;
    res.once('close', () => {
      this.#inFlight--;
      if (this.#inFlight === 0) for (const resolve of this.#idle.splice(0)) resolve();
    });
    next();
  };

  /** Resolves when no request is in flight or after `timeoutMs`; returns whether all finished. */
  async drain(timeoutMs: number): Promise<boolean> {
    this.#draining = true;
    if (this.#inFlight === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      new Promise<boolean>((resolve) => this.#idle.push(() => resolve(true))),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    return finished;
  }
}

export interface RunningServer {
  server: Server;
  url: string;
  /** Drains in-flight requests, closes the listener and connections, then runs `onClose`. */
  shutdown(reason?: string): Promise<void>;
}

export interface StartServerOptions {
  server: Server;
  lifecycle: Lifecycle;
  host: string;
  port: number;
  logger: Logger;
  shutdownTimeoutMs: number;
  /** Closes what the server does not track itself (upgraded connections) once requests drained. */
  beforeClose?: () => void;
  /** Releases resources (database pools) after the last request finished. */
  onClose?: () => Promise<void>;
}

export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const { server, lifecycle, logger } = options;
  try {
    server.listen(options.port, options.host);
    await once(server, 'listening');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new FicusError(
        'FICUS_ERR_CONFIG',
        `${options.host}:${options.port} is already in use; stop what listens there or set PORT to a free port`,
      );
    }
    throw error;
  }
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  let closing: Promise<void> | undefined;
  const shutdown = (reason = 'shutdown requested'): Promise<void> => {
    closing ??= (async () => {
      logger.info({ reason, inFlight: lifecycle.inFlight }, 'shutting down: finishing in-flight requests');
      const finished = await lifecycle.drain(options.shutdownTimeoutMs);
      if (!finished)
        logger.warn(
          { inFlight: lifecycle.inFlight, timeoutMs: options.shutdownTimeoutMs },
          'shutdown timeout: cutting remaining requests',
        );
      options.beforeClose?.();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await options.onClose?.();
      logger.info('shut down');
    })();
    return closing;
  };
  return { server, url, shutdown };
}

/**
 * SIGTERM and SIGINT shut the server down gracefully and exit 0; a second signal exits at once.
 * Only composition roots call this.
 */
export function exitOnSignals(shutdown: (reason: string) => Promise<void>, logger: Logger): void {
  let received = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (received) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    received = true;
    shutdown(signal).then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/**
 * Runs a process's startup; a failure prints one line (the code and message of a FicusError,
 * else the stack) prefixed with the process's name, and exits 1. Only entry points call this.
 */
export async function runMain(name: string, start: () => Promise<void>): Promise<void> {
  try {
    await start();
  } catch (error) {
    const text =
      error instanceof FicusError ? `${error.code}: ${error.message}` : String((error as Error)?.stack ?? error);
    process.stderr.write(`${name}: ${text}\n`);
    process.exit(1);
  }
}
