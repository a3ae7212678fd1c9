import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../kit/ports.js';
import { repoRoot, spawnProgram, waitFor, type Spawned } from '../kit/processes.js';

/**
 * What a team gets from `npm install ficus`: the packed tarball installed into a fresh express app outside this
 * repository, used from plain Node — no tsx, no TypeScript sources, no build step of its own.
 */
const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

// npm's own variables (set when the tests run under `npm test`) would configure the npm commands below.
const npmVariables = Object.fromEntries(
  Object.keys(process.env)
    .filter((key) => /^npm_/i.test(key))
    .map((key) => [key, undefined]),
);
// The bin's `#!/usr/bin/env node` finds the node running these tests.
const env = { ...npmVariables, PATH: `${dirname(process.execPath)}${delimiter}${process.env['PATH'] ?? ''}` };

let base: string;
let app: string;
let upstream: Server;
let upstreamUrl: string;
const running: Spawned[] = [];

const seconds = (from: number, to: number) => `${((to - from) / 1000).toFixed(1)} s`;

/** Runs a program to its end within `timeoutMs`, killing it after that; resolves with its exit code and output. */
async function run(command: string, args: string[], cwd: string, timeoutMs: number, extra = {}) {
  const proc = spawnProgram(command, args, { ...env, ...extra }, cwd);
  running.push(proc);
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), timeoutMs);
  const code = await proc.exited.finally(() => clearTimeout(timer));
  return { code, output: proc.output() };
}

beforeAll(async () => {
  upstream = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ from: 'upstream', url: req.url }));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;

  base = await mkdtemp(join(tmpdir(), 'ficus-package-'));
  app = join(base, 'app');
  await mkdir(app);
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'gateway', private: true, type: 'module' }));
  // No routes: everything is served by the default upstream.
  const routes = 'version: 1\nupstreams:\n  monolith:\n    url: ${UPSTREAM_URL}\ndefaultUpstream: monolith\n';
  await writeFile(join(app, 'routes.yaml'), routes);
  await writeFile(join(app, 'flags.json'), JSON.stringify({ version: 2, features: [] }));

  const started = Date.now();
  const pack = await run('npm', ['pack', '--pack-destination', base, '--silent'], repoRoot, 120_000);
  expect(pack.code, pack.output).toBe(0);
  const tarball = (await readdir(base)).find((file) => file.endsWith('.tgz'));
  expect(tarball, pack.output).toBe(`ficus-${version}.tgz`);
  const packed = Date.now();
  const args = ['install', '--prefer-offline', '--no-audit', '--no-fund', join(base, tarball!), 'express@5'];
  const install = await run('npm', args, app, 180_000);
  expect(install.code, install.output).toBe(0);
  console.log(`npm pack (with the build) ${seconds(started, packed)}, npm install ${seconds(packed, Date.now())}`);
}, 300_000);

afterAll(async () => {
  for (const proc of running) proc.child.kill('SIGKILL');
  await new Promise((resolve) => upstream?.close(resolve));
  if (base) await rm(base, { recursive: true, force: true });
});

const gateway = `
import express from 'express';
import { ficusRouter, FlagSource, loadRouteTable } from 'ficus/router';
import { createLogger } from 'ficus/platform';

const logger = createLogger({ level: 'warn', name: 'gateway' });
const flags = FlagSource.fromFile('flags.json', { logger });
await flags.start();
const table = loadRouteTable('routes.yaml', process.env);
const router = ficusRouter({ table, routesFile: 'routes.yaml', flags, logger });
const gatewayApp = express();
gatewayApp.get('/gateway/health', (_req, res) => res.json({ ok: true }));
gatewayApp.use(router);
const server = gatewayApp.listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const res = await fetch(\`http://127.0.0.1:\${server.address().port}/api/v1/hello?x=1\`);
const upstream = res.headers.get('x-ficus-upstream');
console.log(JSON.stringify({ status: res.status, upstream, body: await res.json() }));
server.close();
router.close();
flags.stop();
process.exit(0);
`;

const typedGateway = `
import express from 'express';
import { ficusRouter, FlagSource, loadRouteTable, type RouteTable } from 'ficus/router';
import { createLogger, type Logger } from 'ficus/platform';

const logger: Logger = createLogger({ level: 'warn', name: 'gateway' });
const flags = FlagSource.fromFile('flags.json', { logger });
await flags.start();
const table: RouteTable = loadRouteTable('routes.yaml', process.env);
express().use(ficusRouter({ table, routesFile: 'routes.yaml', flags, logger }));
// @ts-expect-error the options are typed: an unknown one is refused
ficusRouter({ table, routesFile: 'routes.yaml', flags, logger, upstream: 'nope' });
`;

describe('the packed package, installed into a fresh express app', () => {
  it('holds the build, the bin and the docs, no sources or tests, and needs no tsx', () => {
    const installed = join(app, 'node_modules/ficus');
    const present = ['dist/router/src/index.js', 'dist/router/src/index.d.ts', 'dist/platform/src/index.d.ts'];
    present.push('tools/bin/ficus.mjs', 'docs/router.md', 'README.md');
    for (const file of present) {
      expect(existsSync(join(installed, file)), file).toBe(true);
    }
    for (const absent of ['tools/src', 'router/src', 'test', 'bench']) {
      expect(existsSync(join(installed, absent)), absent).toBe(false);
    }
    expect(existsSync(join(app, 'node_modules/tsx'))).toBe(false);
  });

  it('mounts ficusRouter in an express app, in plain Node, and proxies to the default upstream', async () => {
    await writeFile(join(app, 'gateway.mjs'), gateway);
    const express = await run(process.execPath, ['gateway.mjs'], app, 30_000, { UPSTREAM_URL: upstreamUrl });
    expect(express.code, express.output).toBe(0);
    const line = express.output.split('\n').find((l) => l.startsWith('{"status"'));
    expect(JSON.parse(line ?? 'null'), express.output).toEqual({
      status: 200,
      upstream: 'monolith',
      body: { from: 'upstream', url: '/api/v1/hello?x=1' },
    });
  });

  it('runs `ficus --version` and `ficus router` from its bin until SIGTERM, which exits 0', async () => {
    const bin = join(app, 'node_modules/.bin/ficus');
    const versionRun = await run(bin, ['--version'], app, 30_000);
    expect(versionRun.code, versionRun.output).toBe(0);
    expect(versionRun.output.trim()).toBe(version);

    const [routerPort, adminPort] = [await freePort(), await freePort()];
    const router = spawnProgram(
      bin,
      ['router'],
      {
        ...env,
        ROUTES_FILE: 'routes.yaml',
        FLAGS_FILE: 'flags.json',
        ROUTER_PORT: String(routerPort),
        ADMIN_PORT: String(adminPort),
        UPSTREAM_URL: upstreamUrl,
        LOG_LEVEL: 'warn',
      },
      app,
    );
    running.push(router);
    const res = await waitFor(() => fetch(`http://127.0.0.1:${routerPort}/api/v1/hello`), 30_000, router.output);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-ficus-upstream')).toBe('monolith');
    expect(await res.json()).toEqual({ from: 'upstream', url: '/api/v1/hello' });
    expect((await fetch(`http://127.0.0.1:${adminPort}/status`)).status).toBe(200);
    router.child.kill('SIGTERM');
    const late = new Promise((resolve) => setTimeout(resolve, 15_000, 'no exit in 15 s'));
    const code = await Promise.race([router.exited, late]);
    expect(code, router.output()).toBe(0);
  });

  it('types ficus/router and ficus/platform for a strict NodeNext TypeScript app', { timeout: 120_000 }, async () => {
    const types = ['typescript@5.9', '@types/express@5', '@types/node@24'];
    const install = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', ...types], app, 90_000);
    expect(install.code, install.output).toBe(0);
    await writeFile(join(app, 'gateway.ts'), typedGateway);
    const flags = ['--noEmit', '--strict', '--module', 'nodenext', '--target', 'es2023', '--types', 'node'];
    // The package's own declarations are checked too.
    flags.push('--skipLibCheck', 'false');
    const tsc = await run(process.execPath, ['node_modules/typescript/bin/tsc', ...flags, 'gateway.ts'], app, 60_000);
    expect(tsc.code, tsc.output).toBe(0);
  });
});
