import { once } from 'node:events';
import { createServer, request, Agent, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo, type Server as TcpServer, Socket } from 'node:net';

/** What an echo upstream saw of a request. */
export interface Seen {
  upstream: string;
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface EchoUpstream {
  name: string;
  url: string;
  port: number;
  /** Every request it received, in order. */
  seen: Seen[];
  /** Answer every request with this status from now on (undefined: 200). */
  failWith: number | undefined;
  /** Hold every request this long before answering. */
  delayMs: number;
  stop(): Promise<void>;
  /** Listens again on the same port after stop(). */
  restart(): Promise<void>;
}

/**
 * A real HTTP server on 127.0.0.1 that answers with JSON saying who it is and what it got,
 * so a test can tell which upstream served a request and what path and headers arrived.
 * It also answers HTTP Upgrade requests and echoes the upgraded stream.
 */
export async function startEchoUpstream(name: string, port = 0): Promise<EchoUpstream> {
  const sockets = new Set<Socket>();
  let server: Server;
  const upstream: EchoUpstream = {
    name,
    url: '',
    port,
    seen: [],
    failWith: undefined,
    delayMs: 0,
    async stop() {
      server.close();
      for (const socket of sockets) socket.destroy();
      await once(server, 'close').catch(() => {});
    },
    async restart() {
      await listen(upstream.port);
    },
  };
  const listen = async (onPort: number) => {
    server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      try {
        for await (const chunk of req) chunks.push(chunk as Buffer);
      } catch {
        return; // The request was abandoned on its way in: nobody to answer.
      }
      const seen = {
        upstream: name,
        method: req.method!,
        url: req.url!,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      upstream.seen.push(seen);
      if (upstream.delayMs) await new Promise((resolve) => setTimeout(resolve, upstream.delayMs));
      const body = JSON.stringify(seen);
      // A hop-by-hop header named in Connection, a repeated field and a request id of its own:
      // what the router must strip, keep apart and replace.
      res.writeHead(upstream.failWith ?? 200, [
        'content-type',
        'application/json',
        'keep-alive',
        'timeout=5',
        'connection',
        'keep-alive, x-upstream-hop',
        'x-upstream-hop',
        'secret',
        'set-cookie',
        'a=1; Path=/',
        'set-cookie',
        'b=2; Path=/',
        'x-request-id',
        `${upstream.name}-own`,
      ]);
      res.end(body);
    });
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    server.on('upgrade', (req, socket) => {
      upstream.seen.push({ upstream: name, method: req.method!, url: req.url!, headers: req.headers, body: '' });
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nupgrade: ${req.headers.upgrade}\r\nconnection: Upgrade\r\nx-upstream: ${name}\r\n\r\n`,
      );
      socket.pipe(socket);
    });
    server.listen(onPort, '127.0.0.1');
    await once(server, 'listening');
    upstream.port = (server.address() as AddressInfo).port;
    upstream.url = `http://127.0.0.1:${upstream.port}`;
  };
  await listen(port);
  return upstream;
}

export interface LoadResult {
  statuses: Record<number, number>;
  /** Requests that got no response at all. */
  errors: number;
  /** Responses by the x-ficus-upstream header. */
  servedBy: Record<string, number>;
}

/** Sends `total` requests with `concurrency` in flight over keep-alive connections; bounded in count. */
export async function load(
  url: string,
  options: { total: number; concurrency: number; headers?: (i: number) => Record<string, string>; method?: string },
): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const result: LoadResult = { statuses: {}, errors: 0, servedBy: {} };
  let next = 0;
  const worker = async () => {
    while (next < options.total) {
      const i = next++;
      await new Promise<void>((resolve) => {
        const req = request(
          url,
          { agent, method: options.method ?? 'GET', headers: options.headers?.(i) ?? {} },
          (res) => {
            res.resume();
            res.once('end', () => {
              result.statuses[res.statusCode!] = (result.statuses[res.statusCode!] ?? 0) + 1;
              const servedBy = String(res.headers['x-ficus-upstream'] ?? 'none');
              result.servedBy[servedBy] = (result.servedBy[servedBy] ?? 0) + 1;
              resolve();
            });
          },
        );
        req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
        req.once('error', () => {
          result.errors++;
          resolve();
        });
        req.end();
      });
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  agent.destroy();
  return result;
}

export interface ScriptedUpstream {
  url: string;
  /** Every request it received: method, url, headers, body. */
  seen: Seen[];
  stop(): Promise<void>;
}

/**
 * A real HTTP server on 127.0.0.1 whose answers a test writes (`handler` gets the request and
 * its whole body), for candidates that differ, hang, fail, reset or send too much.
 */
export async function startScriptedUpstream(
  name: string,
  handler: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse, body: string) => void,
): Promise<ScriptedUpstream> {
  const sockets = new Set<Socket>();
  const seen: Seen[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of req) chunks.push(chunk as Buffer);
    } catch {
      return;
    }
    const body = Buffer.concat(chunks).toString('utf8');
    seen.push({ upstream: name, method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
    handler(req, res, body);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    async stop() {
      server.close();
      for (const socket of sockets) socket.destroy();
      await once(server, 'close').catch(() => {});
    },
  };
}

/** How a test candidate misbehaves: never answers, answers 500, resets the connection, or sends 50 MB. */
export type Misbehaviour = 'hang' | 'fail' | 'reset' | 'huge';

const megabyte = Buffer.alloc(1024 * 1024, 120);

/** Answers `res` the way `mode` says; the 50 MB are written as the reader takes them, never buffered here. */
export function misbehave(mode: Misbehaviour, res: import('node:http').ServerResponse): void {
  res.on('error', () => {});
  if (mode === 'hang') return; // the mirror's deadline ends it
  if (mode === 'fail') return void res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":true}');
  if (mode === 'reset') return void res.socket?.destroy();
  res.writeHead(200, { 'content-type': 'application/json' });
  let sent = 0;
  const more = () => {
    while (sent < 50 && !res.destroyed) {
      sent++;
      if (!res.write(megabyte)) return void res.once('drain', more);
    }
    res.end();
  };
  more();
}

export interface DroppingProxy {
  url: string;
  /** Cuts the connection instead of passing on the next answer, whatever the request. */
  dropNext(): void;
  /**
   * Cuts every answer to a request whose path ends with `suffix` (the request still reaches the
   * service and is applied), until called with undefined; `then` runs after each cut.
   */
  dropAnswersTo(suffix: string | undefined, then?: () => void): void;
  /** The paths of the requests whose answers were cut, in order. */
  dropped: string[];
  /** Stops listening and cuts every connection: the next ones are refused, as by a service gone down. */
  down(): void;
  /** Listens again on the same port after down(). */
  up(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A TCP proxy in front of the service that forwards every request but, for the answers it is told
 * to drop, destroys the client's connection instead of passing the service's answer on.
 */
export async function droppingProxy(target: URL): Promise<DroppingProxy> {
  let dropNext = false;
  let dropSuffix: string | undefined;
  let afterDrop: (() => void) | undefined;
  const dropped: string[] = [];
  const sockets = new Set<Socket>();
  const server: TcpServer = createTcpServer((client) => {
    const upstream = new Socket();
    sockets.add(client).add(upstream);
    upstream.connect(Number(target.port), target.hostname);
    // One request at a time on a connection (the clients here do not pipeline): the path of the
    // last request line sent is the one the next answer is for.
    let path = '';
    client.on('data', (chunk: Buffer) => {
      path = /^[A-Z]+ (\S+) HTTP\//.exec(chunk.toString('latin1', 0, 2048))?.[1] ?? path;
      upstream.write(chunk);
    });
    client.on('end', () => upstream.end());
    upstream.on('data', (chunk: Buffer) => {
      const cut = dropNext || (dropSuffix !== undefined && path.endsWith(dropSuffix));
      if (!cut) return void client.write(chunk);
      dropNext = false;
      dropped.push(path);
      client.destroy();
      upstream.destroy();
      afterDrop?.();
    });
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
  });
  const listen = (port: number) => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  await listen(0);
  const port = (server.address() as AddressInfo).port;
  const down = () => {
    server.close();
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };
  return {
    url: `http://127.0.0.1:${port}`,
    dropNext: () => void (dropNext = true),
    dropAnswersTo: (suffix, then) => {
      dropSuffix = suffix;
      afterDrop = then;
    },
    dropped,
    down,
    up: () => listen(port),
    close: async () => {
      const closed = server.listening ? once(server, 'close') : undefined;
      down();
      await closed;
    },
  };
}

/** Asks for an upgrade on a raw socket; resolves with the answer's head (and the socket, left open when `close` is false). */
export async function openTunnel(
  base: string,
  path: string,
  protocol: string,
  close = true,
): Promise<{ head: string; socket: Socket }> {
  const url = new URL(base);
  const socket = connect(Number(url.port), url.hostname);
  socket.on('error', () => undefined);
  const head = await new Promise<string>((resolve) => {
    let data = '';
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString();
      if (data.includes('\r\n\r\n')) resolve(data);
    });
    socket.once('close', () => resolve(data));
    socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: ${protocol}\r\n\r\n`);
  });
  if (close) socket.destroy();
  return { head, socket };
}
