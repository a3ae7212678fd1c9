import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Duplex } from 'node:stream';
import type { HeaderList } from './headers.js';
import { upstreamErrorOf, UpstreamError } from './send.js';
import type { Upstream } from './upstream.js';

function headerBlock(status: string, raw: readonly string[], skip: ReadonlySet<string> = new Set()): string {
  let head = `${status}\r\n`;
  for (let i = 0; i < raw.length; i += 2) if (!skip.has(raw[i]!.toLowerCase())) head += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return head;
}

/** Framing and hop-by-hop headers the router rewrites when it answers a refused upgrade itself. */
const refusedSkip = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'upgrade',
  'te',
  'trailer',
]);
const refusedBodyLimit = 64 * 1024;

/** A short answer of the router's own on a socket that asked for an upgrade. */
export function answerUpgrade(socket: Duplex, status: number, reason: string, detail = ''): void {
  if (socket.destroyed) return;
  const body = detail ? `${detail}\n` : '';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-type: text/plain; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** How an upgrade handshake ended. */
export interface UpgradeOutcome {
  /** 101 for a tunnel; the upstream's status when it refused; 502 for a 101 that did not match; 499 when the client left. */
  statusCode: number;
  /** Whether the client got its answer (false: nothing was sent to it, another upstream may try). */
  answered: boolean;
  /** Set when the upstream is at fault (no answer, or a 101 for another protocol). */
  failure?: UpstreamError;
}

/**
 * Forwards an HTTP/1.1 Upgrade handshake to `upstream` and splices the two sockets together
 * once it answers 101 for the protocol asked for; a 101 for another protocol (or none) is
 * refused with 502. A refused upgrade is answered with its status and (bounded) body. The
 * connect and handshake deadlines are the upstream's connect and response timeouts.
 * `onTunnel` gets the client socket of each tunnel, so its end can be seen and shutdown can close it.
 */
export function forwardUpgrade(
  upstream: Upstream,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  path: string,
  headers: HeaderList,
  onTunnel: (socket: Duplex) => void,
): Promise<UpgradeOutcome> {
  const protocol = String(req.headers.upgrade ?? '');
  return new Promise((resolve) => {
    const send = upstream.url.protocol === 'https:' ? httpsRequest : httpRequest;
    const outgoing = send({
      protocol: upstream.url.protocol,
      hostname: upstream.url.hostname,
      port: upstream.url.port,
      method: req.method,
      path,
      // Upgrades need their Connection/Upgrade headers and a connection of their own.
      headers: ['host', upstream.url.host, 'connection', 'Upgrade', 'upgrade', protocol, ...headers.slice(2)],
      agent: false,
    });
    let settled = false;
    const settle = (outcome: UpgradeOutcome) => {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      socket.off('close', onClientGone);
      resolve(outcome);
      return true;
    };
    // Connect deadline first, then the handshake deadline: an upstream that accepts and never answers is cut.
    const deadline = (code: string, ms: number) =>
      setTimeout(() => outgoing.destroy(Object.assign(new Error(`no ${code} within ${ms} ms`), { code })), ms);
    let timer = deadline('UND_ERR_CONNECT_TIMEOUT', upstream.spec.connectTimeoutMs);
    outgoing.once('socket', (s) =>
      s.once('connect', () => {
        clearTimeout(timer);
        timer = deadline('UND_ERR_HEADERS_TIMEOUT', upstream.spec.responseTimeoutMs);
      }),
    );
    const onClientGone = () => {
      outgoing.destroy();
      settle({ statusCode: 499, answered: true });
    };
    socket.once('close', onClientGone);
    outgoing.once('error', (error: NodeJS.ErrnoException) =>
      settle({ statusCode: 502, answered: false, failure: upstreamErrorOf(upstream, null, error) }),
    );
    outgoing.once('response', (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= refusedBodyLimit) chunks.push(chunk);
      });
      response.once('end', () => {
        const statusCode = response.statusCode ?? 502;
        if (!settle({ statusCode, answered: true })) return;
        const body = Buffer.concat(chunks);
        socket.end(
          Buffer.concat([
            Buffer.from(
              `${headerBlock(`HTTP/1.1 ${statusCode} ${response.statusMessage}`, response.rawHeaders, refusedSkip)}content-length: ${body.length}\r\nconnection: close\r\n\r\n`,
            ),
            body,
          ]),
        );
      });
      response.once(
        'error',
        (error: NodeJS.ErrnoException) =>
          settle({ statusCode: 502, answered: false, failure: upstreamErrorOf(upstream, null, error) }) &&
          socket.destroy(),
      );
    });
    outgoing.once('upgrade', (response, upstreamSocket, upstreamHead) => {
      const answered = String(response.headers.upgrade ?? '').toLowerCase();
      if (answered !== protocol.toLowerCase()) {
        upstreamSocket.destroy();
        const message = `${upstream.name} switched to ${answered ? `"${answered}"` : 'no protocol'}, not the "${protocol}" asked for`;
        if (settle({ statusCode: 502, answered: true, failure: new UpstreamError('reset', upstream.name, message) })) {
          answerUpgrade(socket, 502, 'Bad Gateway', message);
        }
        return;
      }
      if (!settle({ statusCode: 101, answered: true }) || socket.destroyed) {
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
