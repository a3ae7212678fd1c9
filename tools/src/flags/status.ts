import {
  apiFlagOf,
  sampleOf,
  shadowFlagOf,
  stageOf,
  withSample,
  type Feature,
  type RouteStage,
} from '../../../platform/src/flags/features.js';
import { retiredStage } from '../../../router/src/decide.js';
import { loadRouteTable } from '../../../router/src/route-table/load.js';
import { parseDuration } from '../duration.js';
import { discoverModules } from '../boundaries/modules.js';
import { discoverServices } from '../services/manifest.js';
import { auditFileOf, readAudit } from './audit.js';
import { adviceFor, findCleanup, formatCleanup, type CleanupHints } from './cleanup.js';
import { storeFor } from './flag-store.js';

type Env = Record<string, string | undefined>;

export interface StatusOptions {
  routes: string;
  flags: string;
  audit?: string;
  json?: boolean;
  probe: boolean;
  /** A duration such as `30d`: how long at 100 % makes a flag stale. */
  staleAfter: string;
}

/** `canary 10 % (shadow 5 %)`, `shadow 10 %`, `service`, `retired`. */
export function describeStage(stage: RouteStage | typeof retiredStage): string {
  if (stage.stage === 'shadow') return `shadow ${stage.sample} %`;
  const serving = stage.stage === 'canary' ? `canary ${stage.percent} %` : stage.stage;
  return stage.sample ? `${serving} (shadow ${stage.sample} %)` : serving;
}

/** What a service's `/readyz` says within a second: `ready`, `not ready (503)`, or why it did not answer. */
async function readiness(url: string): Promise<string> {
  try {
    const response = await fetch(new URL('/readyz', url), { signal: AbortSignal.timeout(1000) });
    await response.body?.cancel();
    return response.ok ? 'ready' : `not ready (${response.status})`;
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return `down (${cause ?? (error as Error).name})`;
  }
}

/** The services under services/ with the module each was extracted from, and whether `ficus retire` retired it. */
function extractedModules(root: string): Map<string, { module: string; apiFlag: string; retired: boolean }> {
  try {
    const retired = new Set(
      discoverModules(root)
        .filter((m) => m.retired)
        .map((m) => m.name),
    );
    return new Map(
      discoverServices(root).map((s) => [
        s.name,
        { module: s.module, apiFlag: apiFlagOf(s.module), retired: retired.has(s.module) },
      ]),
    );
  } catch {
    // A broken manifest is `ficus extract`'s and `ficus dev`'s to report; here it costs only the module's name.
    return new Map();
  }
}

/**
 * `ficus flags status`: each route with its stage (from its toggles, or `retired` from the route
 * table), its service and whether that answers, and below them the flags to clean up.
 */
export async function flagsStatus(options: StatusOptions, env: Env, out: (line: string) => void): Promise<void> {
  const table = loadRouteTable(options.routes, env);
  const store = storeFor(options, env);
  const urls = new Map([...table.upstreams].map(([name, upstream]) => [name, upstream.url]));
  const health = new Map(
    await Promise.all(
      [...new Set(table.routes.map((r) => r.service))].map(
        async (name) => [name, options.probe ? await readiness(urls.get(name)!) : 'not asked'] as const,
      ),
    ),
  );
  const modules = extractedModules(process.cwd());
  const names = [
    ...table.routes.flatMap((r) => [r.flag, shadowFlagOf(r.flag)]),
    ...[...modules.values()].filter((m) => m.retired).map((m) => m.apiFlag),
  ];
  const toggles = new Map<string, Feature>();
  for (const [name, feature] of await Promise.all(names.map(async (n) => [n, await store.get(n)] as const)))
    if (feature) toggles.set(name, feature);
  const rows = table.routes.map((route) => ({
    route: route.id,
    path: route.pattern.source,
    service: route.service,
    url: urls.get(route.service)!,
    ready: health.get(route.service)!,
    flag: route.flag,
    ...(route.stage === 'retired'
      ? retiredStage
      : withSample(stageOf(toggles.get(route.flag)), sampleOf(toggles.get(shadowFlagOf(route.flag))))),
  }));

  const audit = await readAudit(auditFileOf(options.flags, options.audit));
  const findings = findCleanup({
    routes: table.routes,
    toggles,
    retiredModules: new Map([...modules].filter(([, m]) => m.retired)),
    audit,
    staleAfterMs: parseDuration(options.staleAfter),
    staleAfter: options.staleAfter,
    now: Date.now(),
  });
  const hints: CleanupHints = {
    deleteHow: (flags) => store.howToDelete(flags),
    retireCommand: (service) => `npx ficus retire ${modules.get(service)?.module ?? '<module>'}`,
  };

  if (options.json) {
    const cleanup = {
      staleAfter: options.staleAfter,
      audit: { file: audit.file, exists: audit.exists, entries: audit.entries.length, unreadable: audit.unreadable },
      findings: findings.map((f) => ({ ...f, advice: adviceFor(f, hints) })),
    };
    return out(JSON.stringify({ store: store.description, routes: rows, cleanup }, null, 2));
  }
  out(`stages from ${store.description}`);
  const cells = (r: (typeof rows)[number]) => [r.route, r.path, r.service, describeStage(r), r.flag, r.url, r.ready];
  const header = ['ROUTE', 'PATH', 'SERVICE', 'STAGE', 'FLAG', 'URL', 'READYZ'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => cells(r)[i]!.length)));
  const line = (row: string[]) =>
    row
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  out(line(header));
  for (const row of rows) out(line(cells(row)));
  for (const text of formatCleanup(findings, audit, options.staleAfter, hints)) out(text);
}
