import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Duplex } from 'node:stream';
import type { HeaderList } from './headers.js';
import type { Upstream } from './upstream.js';

function headerBlock(status: string, raw: readonly string[], skip: ReadonlySet<string> = new Set()): string {
  let head = `${status}\r\n`;
  for (let i = 0; i < raw.length; i += 2) if (!skip.has(raw[i]!.toLowerCase())) head += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return head;
}

/** Framing and hop-by-hop headers the router rewrites when it answers a refused upgrade itself. */
const refusedSkip = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade', 'te', 'trailer']);
const refusedBodyLimit = 64 * 1024;

/**
 * Forwards a WebSocket (or any HTTP/1.1 Upgrade) handshake to `upstream` and splices the two
 * sockets together once it answers 101; `onTunnel` gets the client socket of each tunnel so
 * shutdown can close them. A refused upgrade is answered with its status and (bounded) body.
 * Resolves false when the upstream failed before the client was answered, so the caller may
 * try another upstream.
 */
export function forwardUpgrade(
  upstream: Upstream,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  path: string,
  headers: HeaderList,
  onTunnel: (socket: Duplex) => void = () => {},
): Promise<boolean> {
  return new Promise((resolve) => {
    const send = upstream.url.protocol === 'https:' ? httpsRequest : httpRequest;
    const outgoing = send({
      protocol: upstream.url.protocol,
      hostname: upstream.url.hostname,
      port: upstream.url.port,
      method: req.method,
      path,
      // Upgrades need their Connection/Upgrade headers and a connection of their own.
      headers: ['host', upstream.url.host, 'connection', 'Upgrade', 'upgrade', String(req.headers.upgrade ?? 'websocket'), ...headers.slice(2)],
      agent: false,
    });
    let settled = false;
    const settle = (value: boolean) => {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      socket.off('close', onClientGone);
      resolve(value);
      return true;
    };
    // Connect deadline first, then the handshake deadline: an upstream that accepts and never answers is cut.
    let timer = setTimeout(() => outgoing.destroy(new Error('connect timeout')), upstream.spec.connectTimeoutMs);
    outgoing.once('socket', (s) =>
      s.once('connect', () => {
        clearTimeout(timer);
        timer = setTimeout(() => outgoing.destroy(new Error('handshake timeout')), upstream.spec.responseTimeoutMs);
      }),
    );
    const onClientGone = () => {
      outgoing.destroy();
      settle(true);
    };
    socket.once('close', onClientGone);
    outgoing.once('error', () => settle(false));
    outgoing.once('response', (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= refusedBodyLimit) chunks.push(chunk);
      });
      response.once('end', () => {
        if (!settle(true)) return;
        const body = Buffer.concat(chunks);
        socket.end(Buffer.concat([
          Buffer.from(`${headerBlock(`HTTP/1.1 ${response.statusCode} ${response.statusMessage}`, response.rawHeaders, refusedSkip)}content-length: ${body.length}\r\nconnection: close\r\n\r\n`),
          body,
        ]));
      });
      response.once('error', () => settle(false) && socket.destroy());
    });
    outgoing.once('upgrade', (response, upstreamSocket, upstreamHead) => {
      if (!settle(true) || socket.destroyed) {
        upstreamSocket.destroy();
        return;
      }
      socket.write(`${headerBlock('HTTP/1.1 101 Switching Protocols', response.rawHeaders)}\r\n`);
      if (upstreamHead.length) socket.write(upstreamHead);
      if (head.length) upstreamSocket.write(head);
      upstreamSocket.pipe(socket).pipe(upstreamSocket);
      const close = () => {
        upstreamSocket.destroy();
        socket.destroy();
      };
      upstreamSocket.once('error', close);
      socket.once('error', close);
      upstreamSocket.once('close', close);
      socket.once('close', close);
      onTunnel(socket);
    });
    outgoing.end();
  });
}
