/**
 * The processes the router benchmark measures, one per variant, each in its own process:
 *   upstream   a minimal node:http server answering a small JSON body (the upstream for all)
 *   bare       the baseline: a bare node:http pipe proxy with a keep-alive agent
 *   express    express + http-proxy-middleware with no features (the usual hand-rolled gateway)
 *   ficus      the ficus router (metrics, request ids, traceparent, route headers on)
 * Usage: node --import tsx bench/servers.ts <variant> <port> [upstream-url] [stage] [percent]
 * Prints "listening <port>" when ready.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { Agent, createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { createLogger } from '../platform/src/index.js';
import { serveToggle, type Stage } from '../router/src/flags/features.js';
import { FlagSource } from '../router/src/flags/flag-source.js';
import { loadRouteTable } from '../router/src/route-table/load.js';
import { createRouter } from '../router/src/server.js';

const [variant, portText, upstreamUrl = '', stage = 'monolith', percent = '0'] = process.argv.slice(2);
const port = Number(portText);
const ready = () => process.stdout.write(`listening ${port}\n`);
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));

if (variant === 'upstream') {
  const body = JSON.stringify({
    id: 'b7e3',
    sku: 'FIG-001',
    name: 'Strangler fig sapling',
    priceCents: 2490,
    currency: 'EUR',
    available: 25,
  });
  createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }).listen(port, '127.0.0.1', ready);
} else if (variant === 'bare') {
  const target = new URL(upstreamUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  createServer((req, res) => {
    const upstream = request(
      { agent, hostname: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (response) => {
        res.writeHead(response.statusCode!, response.headers);
        response.pipe(res);
      },
    );
    upstream.on('error', () => {
      res.statusCode = 502;
      res.end();
    });
    req.pipe(upstream);
  }).listen(port, '127.0.0.1', ready);
} else if (variant === 'express') {
  const app = express();
  app.use(createProxyMiddleware({ target: upstreamUrl, changeOrigin: true }));
  app.listen(port, '127.0.0.1', ready);
} else if (variant === 'ficus') {
  const dir = await mkdtemp(join(tmpdir(), 'ficus-bench-'));
  const routesFile = join(dir, 'routes.yaml');
  const flagsFile = join(dir, 'flags.json');
  await writeFile(
    routesFile,
    `
upstreams:
  monolith: { url: "${upstreamUrl}", maxConcurrent: 1024 }
  catalog: { url: "${upstreamUrl}", maxConcurrent: 1024 }
defaultUpstream: monolith
routes:
  - id: catalog-read
    match: { path: /api/v1/products/**, methods: [GET] }
    service: catalog
`,
  );
  await writeFile(
    flagsFile,
    JSON.stringify({
      version: 2,
      features: [serveToggle('ficus.catalog-read', 'catalog-read', stage as Exclude<Stage, 'shadow'>, Number(percent), 'userId')],
    }),
  );
  const logger = createLogger({ level: 'warn', name: 'router' });
  const flags = FlagSource.fromFile(flagsFile, { logger });
  await flags.start();
  const router = createRouter({
    table: loadRouteTable(routesFile),
    routesFile,
    flags,
    logger,
    userIdHeader: 'x-user-id',
  });
  router.server.listen(port, '127.0.0.1', ready);
} else {
  process.stderr.write(`unknown variant ${variant}\n`);
  process.exit(2);
}
