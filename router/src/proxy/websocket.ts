import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Duplex } from 'node:stream';
import type { HeaderBag } from './headers.js';
import type { Upstream } from './upstream.js';

function headerBlock(status: string, raw: readonly string[]): string {
  let head = `${status}\r\n`;
  for (let i = 0; i < raw.length; i += 2) head += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return `${head}\r\n`;
}

/**
 * Forwards a WebSocket (or any HTTP/1.1 Upgrade) handshake to `upstream` and splices the two
 * sockets together once it answers 101. Resolves false when the upstream could not be reached
 * before anything was sent to the client, so the caller may try another upstream.
 */
export function forwardUpgrade(upstream: Upstream, req: IncomingMessage, socket: Duplex, head: Buffer, path: string, headers: HeaderBag): Promise<boolean> {
  return new Promise((resolve) => {
    const send = upstream.url.protocol === 'https:' ? httpsRequest : httpRequest;
    const outgoing = send({
      protocol: upstream.url.protocol,
      hostname: upstream.url.hostname,
      port: upstream.url.port,
      method: req.method,
      path,
      // Upgrades need their Connection/Upgrade headers and a connection of their own.
      headers: { ...headers, host: upstream.url.host, connection: 'Upgrade', upgrade: String(req.headers.upgrade ?? 'websocket') },
      agent: false,
    });
    const timer = setTimeout(() => outgoing.destroy(new Error('connect timeout')), upstream.spec.connectTimeoutMs);
    outgoing.once('socket', (s) => s.once('connect', () => clearTimeout(timer)));
    outgoing.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
    outgoing.once('response', (response) => {
      socket.end(headerBlock(`HTTP/1.1 ${response.statusCode} ${response.statusMessage}`, response.rawHeaders));
      response.resume();
      resolve(true);
    });
    outgoing.once('upgrade', (response, upstreamSocket, upstreamHead) => {
      clearTimeout(timer);
      socket.write(headerBlock('HTTP/1.1 101 Switching Protocols', response.rawHeaders));
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
      resolve(true);
    });
    outgoing.end();
  });
}
