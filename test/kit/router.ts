import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { createLogger } from '../../platform/src/index.js';
import { ficusRouter } from '../../router/src/middleware.js';
import type { RouterMetrics } from '../../router/src/metrics.js';
import type { ServedListener } from '../../router/src/served-event.js';
import type { RouterState } from '../../router/src/state.js';
import type { Shadow } from '../../router/src/shadow/shadow.js';
import { stageToggles, type Stage } from '../../platform/src/flags/features.js';
import { FlagSource } from '../../platform/src/flags/flag-source.js';
import { loadRouteTable } from '../../router/src/route-table/load.js';
import { createRouter, type FicusRouter, type RouterOptions } from '../../router/src/server.js';
import { FileFlagStore } from '../../tools/src/flags/flag-store.js';
import { waitFor } from './processes.js';

export interface TestRouter {
  router: FicusRouter;
  url: string;
  dir: string;
  routesFile: string;
  flagsFile: string;
  /** Sets a route's stage the way `ficus flags set` does (atomic write of the flags file); `sample` is the shadow %. */
  setStage(routeId: string, stage: Stage, percent?: number, sample?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * A route table of `upstreams` (name → URL; the first is the default upstream) and `routes`
 * (id → path, taken over by the upstream named by `service`, GET only when `getOnly`).
 */
export function routeTableYaml(
  upstreams: Record<string, string>,
  routes: Record<string, { path: string; service: string; getOnly?: boolean; extra?: string }>,
): string {
  const names = Object.keys(upstreams);
  const lines = [
    'upstreams:',
    ...names.map((name) => `  ${name}: { url: "${upstreams[name]}" }`),
    `defaultUpstream: ${names[0]}`,
    Object.keys(routes).length ? 'routes:' : 'routes: []',
  ];
  for (const [id, route] of Object.entries(routes)) {
    lines.push(
      `  - id: ${id}`,
      `    match: { path: ${route.path}${route.getOnly ? ', methods: [GET]' : ''} }`,
      `    service: ${route.service}`,
    );
    if (route.extra) lines.push(route.extra);
  }
  return `${lines.join('\n')}\n`;
}

/** A route table and an empty flags file in a temporary folder, and a flag source watching it. */
async function routerFiles(routesYaml: string) {
  const dir = await mkdtemp(join(tmpdir(), 'ficus-router-'));
  const routesFile = join(dir, 'routes.yaml');
  const flagsFile = join(dir, 'flags.json');
  await writeFile(routesFile, routesYaml);
  await writeFile(flagsFile, JSON.stringify({ version: 2, features: [] }));
  const logger = createLogger({ level: 'silent', name: 'router' });
  const flags = FlagSource.fromFile(flagsFile, { logger, pollMs: 50 });
  await flags.start();
  return {
    dir,
    routesFile,
    flagsFile,
    logger,
    flags,
    table: loadRouteTable(routesFile),
    store: new FileFlagStore(flagsFile),
  };
}

/** Writes a route's toggles as `ficus flags set` does. */
async function putStage(
  store: FileFlagStore,
  state: RouterState,
  routeId: string,
  stage: Stage,
  percent = stage === 'service' ? 100 : 0,
  sample = stage === 'shadow' ? 100 : 0,
): Promise<void> {
  const route = state.table.routes.find((r) => r.id === routeId)!;
  for (const toggle of stageToggles(route, stage, percent, sample)) await store.put(toggle);
}

async function listening(server: Server): Promise<string> {
  if (!server.listening) await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A standalone router on 127.0.0.1 with its route table and flags in a temporary folder. */
export async function startTestRouter(routesYaml: string, options: Partial<RouterOptions> = {}): Promise<TestRouter> {
  const { dir, routesFile, flagsFile, logger, flags, table, store } = await routerFiles(routesYaml);
  const router = createRouter({ table, routesFile, flags, logger, userIdHeader: 'x-user-id', ...options });
  router.server.listen(0, '127.0.0.1');
  const url = await listening(router.server);
  return {
    router,
    url,
    dir,
    routesFile,
    flagsFile,
    setStage: (routeId, stage, percent, sample) => putStage(store, router.state, routeId, stage, percent, sample),
    async close() {
      router.close();
      router.server.closeAllConnections();
      router.server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves once `check` holds, polling every 20 ms, with the milliseconds it took; fails after `timeoutMs`. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<number> {
  const started = Date.now();
  await waitFor(
    async () => ((await check()) ? true : undefined),
    timeoutMs,
    () => `${what}: not within ${timeoutMs} ms`,
    20,
  );
  return Date.now() - started;
}

/** The two forms of the router: the standalone server, and the express middleware in a gateway. */
export type RouterForm = 'standalone' | 'express';
export const routerForms: readonly RouterForm[] = ['standalone', 'express'];

/** What a test sees of either form. */
export interface FormRouter {
  form: RouterForm;
  url: string;
  dir: string;
  flagsFile: string;
  state: RouterState;
  metrics: RouterMetrics;
  flags: FlagSource;
  onServed(listener: ServedListener): void;
  setStage(routeId: string, stage: Stage, percent?: number, sample?: number): Promise<void>;
  shadow: Shadow;
  close(): Promise<void>;
}

/**
 * Either form on 127.0.0.1 with the same route table, flags file and options. The express form
 * runs in a gateway app with a route of its own (`GET /gateway/health`) before the router.
 */
export async function startRouterForm(
  form: RouterForm,
  routesYaml: string,
  options: Partial<RouterOptions> = {},
): Promise<FormRouter> {
  if (form === 'standalone') {
    const t = await startTestRouter(routesYaml, options);
    return {
      form,
      url: t.url,
      dir: t.dir,
      flagsFile: t.flagsFile,
      state: t.router.state,
      metrics: t.router.metrics,
      flags: t.router.flags,
      onServed: t.router.onServed,
      setStage: t.setStage,
      shadow: t.router.shadow,
      close: t.close,
    };
  }
  const { dir, routesFile, flagsFile, logger, flags, table, store } = await routerFiles(routesYaml);
  const middleware = ficusRouter({ table, routesFile, flags, logger, userIdHeader: 'x-user-id', ...options });
  const app = express();
  app.get('/gateway/health', (_req, res) => void res.json({ ok: true }));
  app.use(middleware);
  const server = app.listen(0, '127.0.0.1');
  server.on('upgrade', middleware.upgrade);
  const url = await listening(server);
  return {
    form,
    url,
    dir,
    flagsFile,
    state: middleware.state,
    metrics: middleware.metrics,
    flags,
    onServed: middleware.onServed,
    setStage: (routeId, stage, percent, sample) => putStage(store, middleware.state, routeId, stage, percent, sample),
    shadow: middleware.shadow,
    async close() {
      middleware.close();
      flags.stop();
      server.closeAllConnections();
      server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
