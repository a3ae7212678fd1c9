/**
 * The processes the benchmarks measure, one per variant, each in its own process:
 *   upstream   a minimal node:http server answering a small JSON body (the upstream for all), after
 *              [delay-ms] when given (the slow shadow candidate)
 *   bare       the baseline: a bare node:http pipe proxy with a keep-alive agent
 *   express    express + http-proxy-middleware with no features (the usual hand-rolled gateway)
 *   ficus      the ficus router (metrics, request ids, traceparent, route headers on); at stage
 *              `shadow` the route's service is [candidate-url] and [percent] is the sample rate
 *   catalog    the replay benchmark's candidate: GET /api/v1/products/<id> answers bench/products.ts
 * Usage: node --import tsx bench/servers.ts upstream <port> [delay-ms]
 *        node --import tsx bench/servers.ts catalog <port>
 *        node --import tsx bench/servers.ts bare|express <port> <upstream-url>
 *        node --import tsx bench/servers.ts ficus <port> <upstream-url> [stage] [percent] [candidate-url]
 * Prints "listening <port>" when ready. A ficus process started with an IPC channel answers the
 * message `shadow-counts` with its ficus_shadow_samples_total by outcome (the benchmark's window).
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { Agent, createServer, request, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { createLogger } from '../platform/src/index.js';
import { serveToggle, stageToggles, type Stage } from '../platform/src/flags/features.js';
import { FlagSource } from '../platform/src/flags/flag-source.js';
import { loadRouteTable } from '../router/src/route-table/load.js';
import { createRouter } from '../router/src/server.js';
import { productBody, productId } from './products.js';

const [variant, portText, upstreamUrl = '', stage = 'monolith', percent = '0', candidateUrl = upstreamUrl] =
  process.argv.slice(2);
const port = Number(portText);
const ready = () => process.stdout.write(`listening ${port}\n`);
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));

if (variant === 'upstream') {
  const delayMs = Number(upstreamUrl || 0);
  const body = JSON.stringify({
    id: 'b7e3',
    sku: 'FIG-001',
    name: 'Strangler fig sapling',
    priceCents: 2490,
    currency: 'EUR',
    available: 25,
  });
  const answer = (res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  createServer((req, res) => {
    req.resume();
    if (delayMs > 0) setTimeout(answer, delayMs, res);
    else answer(res);
  }).listen(port, '127.0.0.1', ready);
} else if (variant === 'catalog') {
  createServer((req, res) => {
    req.resume();
    const id = productId(req.url ?? '');
    if (id === undefined) {
      res.writeHead(404, { 'content-length': 0 });
      return res.end();
    }
    const body = productBody(id);
    res.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
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
  const route = { flag: 'ficus.catalog-read', id: 'catalog-read', stickiness: 'userId' };
  const dir = await mkdtemp(join(tmpdir(), 'ficus-bench-'));
  const routesFile = join(dir, 'routes.yaml');
  const flagsFile = join(dir, 'flags.json');
  await writeFile(
    routesFile,
    `
upstreams:
  monolith: { url: "${upstreamUrl}", maxConcurrent: 1024 }
  catalog: { url: "${candidateUrl}", maxConcurrent: 1024 }
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
      features:
        stage === 'shadow'
          ? stageToggles(route, 'shadow', 0, Number(percent))
          : [serveToggle(route.flag, route.id, stage as Exclude<Stage, 'shadow'>, Number(percent), route.stickiness)],
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
  // The benchmark reads the router's own counter (what a Prometheus scrape would show) over IPC,
  // before and after each measured window, rather than trusting its own guess of what was mirrored.
  process.on('message', async (message) => {
    if (message !== 'shadow-counts') return;
    const metric = await router.metrics.registry.getSingleMetric('ficus_shadow_samples_total')?.get();
    const counts: Record<string, number> = {};
    for (const { labels, value } of metric?.values ?? []) {
      const outcome = String(labels['outcome']);
      counts[outcome] = (counts[outcome] ?? 0) + value;
    }
    process.send?.({ shadowCounts: counts });
  });
  router.server.listen(port, '127.0.0.1', ready);
} else {
  process.stderr.write(`unknown variant ${variant}\n`);
  process.exit(2);
}
