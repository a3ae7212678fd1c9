import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../../platform/src/index.js';
import { serveToggle, type Stage } from '../../router/src/flags/features.js';
import { FlagSource } from '../../router/src/flags/flag-source.js';
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
  /** Sets a route's stage the way `ficus flags set` does (atomic write of the flags file). */
  setStage(routeId: string, stage: Stage, percent?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * A route table of `upstreams` (name → URL; the first is the default upstream) and `routes`
 * (id → path, taken over by the upstream named by `service`, GET only when `getOnly`).
 */
export function routeTableYaml(upstreams: Record<string, string>, routes: Record<string, { path: string; service: string; getOnly?: boolean; extra?: string }>): string {
  const names = Object.keys(upstreams);
  const lines = ['upstreams:', ...names.map((name) => `  ${name}: { url: "${upstreams[name]}" }`), `defaultUpstream: ${names[0]}`, Object.keys(routes).length ? 'routes:' : 'routes: []'];
  for (const [id, route] of Object.entries(routes)) {
    lines.push(`  - id: ${id}`, `    match: { path: ${route.path}${route.getOnly ? ', methods: [GET]' : ''} }`, `    service: ${route.service}`);
    if (route.extra) lines.push(route.extra);
  }
  return `${lines.join('\n')}\n`;
}

/** A standalone router on 127.0.0.1 with its route table and flags in a temporary folder. */
export async function startTestRouter(routesYaml: string, options: Partial<RouterOptions> = {}): Promise<TestRouter> {
  const dir = await mkdtemp(join(tmpdir(), 'ficus-router-'));
  const routesFile = join(dir, 'routes.yaml');
  const flagsFile = join(dir, 'flags.json');
  await writeFile(routesFile, routesYaml);
  await writeFile(flagsFile, JSON.stringify({ version: 2, features: [] }));
  const logger = createLogger({ level: 'silent', name: 'router' });
  const flags = FlagSource.fromFile(flagsFile, { logger, pollMs: 50 });
  await flags.start();
  const table = loadRouteTable(routesFile);
  const router = createRouter({ table, routesFile, flags, logger, userIdHeader: 'x-user-id', ...options });
  router.server.listen(0, '127.0.0.1');
  await once(router.server, 'listening');
  const url = `http://127.0.0.1:${(router.server.address() as AddressInfo).port}`;
  const store = new FileFlagStore(flagsFile);
  return {
    router,
    url,
    dir,
    routesFile,
    flagsFile,
    async setStage(routeId, stage, percent = stage === 'service' ? 100 : 0) {
      const route = router.state.table.routes.find((r) => r.id === routeId)!;
      await store.put(serveToggle(route.flag, route.id, stage, percent, route.stickiness));
    },
    async close() {
      router.close();
      router.server.closeAllConnections();
      router.server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves once `check` holds, polling every 20 ms, with the milliseconds it took; fails after `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
  const started = Date.now();
  await waitFor(async () => ((await check()) ? true : undefined), timeoutMs, () => `${what}: not within ${timeoutMs} ms`, 20);
  return Date.now() - started;
}
