import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../platform/src/index.js';
import { ficusRouter, FlagSource, loadRouteTable, serveToggle, type ServedEvent } from '../../../router/src/index.js';
import { eventually, routeTableYaml, startTestRouter, type TestRouter } from '../../kit/router.js';
import { startEchoUpstream, type EchoUpstream } from '../../kit/upstreams.js';

let monolith: EchoUpstream;
let service: EchoUpstream;
let files: TestRouter;
let middleware: ReturnType<typeof ficusRouter>;
let flags: FlagSource;
let gateway: string;
let server: ReturnType<express.Express['listen']>;
const served: ServedEvent[] = [];

beforeAll(async () => {
  monolith = await startEchoUpstream('monolith');
  service = await startEchoUpstream('catalog');
  files = await startTestRouter(
    routeTableYaml({ monolith: monolith.url, catalog: service.url }, { 'catalog-read': { path: '/api/v1/products/**', service: 'catalog', getOnly: true } }),
  );
  const logger = createLogger({ level: 'silent', name: 'gateway' });
  flags = FlagSource.fromFile(files.flagsFile, { logger, pollMs: 50 });
  await flags.start();
  middleware = ficusRouter({ table: loadRouteTable(files.routesFile), flags, logger, userIdHeader: 'x-user-id', onServed: (e) => served.push(e) });
  const app = express();
  app.get('/gateway/health', (_req, res) => void res.json({ ok: true }));
  app.use(middleware);
  server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  gateway = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  middleware.close();
  flags.stop();
  server.closeAllConnections();
  server.close();
  await files.close();
  await monolith.stop();
  await service.stop();
});

const setStage = async (stage: 'monolith' | 'service') => {
  await writeFile(files.flagsFile, JSON.stringify({ version: 2, features: [serveToggle('ficus.catalog-read', 'catalog-read', stage, stage === 'service' ? 100 : 0, 'userId')] }));
  await eventually(() => flags.stage('ficus.catalog-read').stage === stage, 2000, 'flags applied');
};

describe('ficusRouter express middleware (http-proxy-middleware)', () => {
  it('routes by the same table and flags, next to the gateway’s own routes', async () => {
    expect(await (await fetch(`${gateway}/gateway/health`)).json()).toEqual({ ok: true });
    const before = await fetch(`${gateway}/api/v1/products/1`);
    expect(before.headers.get('x-ficus-upstream')).toBe('monolith');
    await setStage('service');
    const after = await fetch(`${gateway}/api/v1/products/1`);
    expect(after.headers.get('x-ficus-route')).toBe('catalog-read');
    expect(after.headers.get('x-ficus-upstream')).toBe('catalog');
    expect(((await after.json()) as { upstream: string }).upstream).toBe('catalog');
    expect(served.at(-1)).toMatchObject({ routeId: 'catalog-read', upstream: 'catalog', status: 200 });
  });

  it('normalizes paths the same way before matching and forwarding', async () => {
    const { request } = await import('node:http');
    const url = new URL(gateway);
    const seen = await new Promise<{ upstream: string; url: string }>((resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, path: '/api/v1/orders/%2e%2e/products/9' }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(JSON.parse(body)));
      });
      req.once('error', reject);
      req.end();
    });
    expect(seen).toMatchObject({ upstream: 'catalog', url: '/api/v1/products/9' });
    const refused = await fetch(`${gateway}/api/v1/products%2f..%2forders`);
    expect(refused.status).toBe(400);
  });

  it('sends a GET to the monolith when the service cannot be reached', async () => {
    await setStage('service');
    await service.stop();
    try {
      const res = await fetch(`${gateway}/api/v1/products/2`);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { upstream: string }).upstream).toBe('monolith');
      expect(served.at(-1)).toMatchObject({ routeId: 'catalog-read', fallback: { from: 'catalog', reason: 'connect' } });
    } finally {
      await service.restart();
    }
  });
});
