import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { FicusError } from '../../../platform/src/index.js';
import { serveToggle, stageOf, type RouteStage, type Stage } from '../../../router/src/flags/features.js';
import { loadRouteTable, type CompiledRoute } from '../../../router/src/route-table/load.js';
import { appendAudit } from '../flags/audit.js';
import { FileFlagStore, UnleashFlagStore, type FlagStore } from '../flags/flag-store.js';

type Env = Record<string, string | undefined>;

interface CommonOptions {
  routes: string;
  flags: string;
  audit?: string;
}

interface SetOptions extends CommonOptions {
  stage: Stage;
  percent?: number;
}

function describe(stage: RouteStage): string {
  return stage.stage === 'canary' ? `canary ${stage.percent} %` : stage.stage;
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

function storeFor(options: CommonOptions, env: Env): FlagStore {
  if (env['UNLEASH_URL']) {
    if (!env['UNLEASH_ADMIN_TOKEN'])
      throw new FicusError(
        'FICUS_ERR_CONFIG',
        'UNLEASH_URL is set but UNLEASH_ADMIN_TOKEN is not; set an Unleash admin token, or unset UNLEASH_URL to use the flags file',
      );
    return new UnleashFlagStore({
      apiUrl: env['UNLEASH_URL'],
      adminToken: env['UNLEASH_ADMIN_TOKEN'],
      project: env['UNLEASH_PROJECT'] ?? 'default',
      environment: env['UNLEASH_ENVIRONMENT'] ?? 'development',
    });
  }
  return new FileFlagStore(options.flags);
}

function routeById(options: CommonOptions, env: Env, id: string): CompiledRoute {
  const table = loadRouteTable(options.routes, env);
  const route = table.routes.find((r) => r.id === id);
  if (!route)
    throw new FicusError(
      'FICUS_ERR_CONFIG',
      `no route "${id}" in ${options.routes}; routes are ${table.routes.map((r) => r.id).join(', ') || '(none)'}`,
    );
  return route;
}

async function changeStage(
  options: CommonOptions,
  env: Env,
  out: (line: string) => void,
  routeId: string,
  stage: Stage,
  percent: number,
): Promise<void> {
  const route = routeById(options, env, routeId);
  const store = storeFor(options, env);
  const feature = serveToggle(route.flag, route.id, stage, percent, route.stickiness);
  // The stage it replaced, read under the store's lock: two changes at once each audit their own.
  const from = stageOf(await store.put(feature));
  // Report and audit what the store now holds, not what was meant to be written.
  const to = stageOf(await store.get(route.flag));
  const who = env['FICUS_ACTOR'] ?? env['USER'] ?? userInfo().username;
  await appendAudit(options.audit ?? join(dirname(options.flags), 'flags-audit.jsonl'), {
    at: new Date().toISOString(),
    who,
    route: route.id,
    flag: route.flag,
    from,
    to,
    store: store.description,
  });
  out(`${route.id}: ${describe(from)} → ${describe(to)} (${store.description})`);
  out(
    store instanceof FileFlagStore
      ? 'Routers reading this file apply it within a second.'
      : 'Routers apply it at their next Unleash refresh.',
  );
}

/** `--percent`: digits only, so `0x64`, `1e2`, `1.5` and `-1` are refused rather than read as numbers. */
function parsePercent(value: string): number {
  if (!/^\d{1,3}$/.test(value) || Number(value) > 100) {
    throw new InvalidArgumentError('Use a whole number of percent from 0 to 100, such as --percent 10.');
  }
  return Number(value);
}

/**
 * The share a stage serves from the service. A canary needs --percent, 1 to 99 (0 and 100 are
 * the other stages); the other stages take none. Mistakes are usage errors, like commander's own.
 */
function percentFor(stage: Stage, percent: number | undefined, command: Command): number {
  function usage(message: string): never {
    command.error(`error: ${message}`, { exitCode: 2, code: 'ficus.percent' });
  }
  if (stage !== 'canary') {
    const served = stage === 'service' ? 100 : 0;
    if (percent !== undefined)
      usage(`--percent is for --stage canary only; --stage ${stage} is ${served} % on the service`);
    return served;
  }
  if (percent === undefined) usage('--percent is required with --stage canary: the share of users (1-99) to send');
  if (percent === 0) usage('--stage canary --percent 0 sends nobody to the service; use --stage monolith');
  if (percent === 100) usage('--stage canary --percent 100 sends everyone to the service; use --stage service');
  return percent;
}

/** `ficus flags`: read and change the stage of each route; every change is validated and audited. */
export function flagsCommand(
  env: Env,
  out: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Command {
  const flags = new Command('flags').description(
    'show and change route stages (monolith, canary N %, service); roll back in one command',
  );
  const common = (command: Command) =>
    command
      .addOption(new Option('--routes <file>', 'route table').default(env['ROUTES_FILE'] ?? 'router/routes.yaml'))
      .addOption(
        new Option('--flags <file>', 'local flags file (unless UNLEASH_URL is set)').default(
          env['FLAGS_FILE'] ?? 'router/flags.json',
        ),
      )
      .addOption(
        new Option('--audit <file>', 'audit log (JSON lines); default: flags-audit.jsonl beside the flags file'),
      )
      .addHelpText(
        'after',
        '\nWith UNLEASH_URL and UNLEASH_ADMIN_TOKEN set, toggles are changed on that Unleash server (UNLEASH_PROJECT, UNLEASH_ENVIRONMENT: default, development).',
      );

  common(
    flags
      .command('status')
      .description("each route with its path, service, stage, flag, and whether the service's /readyz answers"),
  )
    .option('--json', 'machine-readable output')
    .option('--no-probe', "do not ask each service's /readyz")
    .action(async (options: CommonOptions & { json?: boolean; probe: boolean }) => {
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
      const rows = await Promise.all(
        table.routes.map(async (route) => ({
          route: route.id,
          path: route.pattern.source,
          service: route.service,
          url: urls.get(route.service)!,
          ready: health.get(route.service)!,
          flag: route.flag,
          ...stageOf(await store.get(route.flag)),
        })),
      );
      if (options.json) return out(JSON.stringify({ store: store.description, routes: rows }, null, 2));
      out(`stages from ${store.description}`);
      const cells = (r: (typeof rows)[number]) => [r.route, r.path, r.service, describe(r), r.flag, r.url, r.ready];
      const header = ['ROUTE', 'PATH', 'SERVICE', 'STAGE', 'FLAG', 'URL', 'READYZ'];
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => cells(r)[i]!.length)));
      const line = (row: string[]) =>
        row
          .map((c, i) => c.padEnd(widths[i] ?? 0))
          .join('  ')
          .trimEnd();
      out(line(header));
      for (const row of rows) out(line(cells(row)));
    });

  common(
    flags
      .command('set')
      .description('set a route to monolith, canary (with --percent) or service')
      .argument('<route>', 'route id from the route table'),
  )
    .addOption(
      new Option('--stage <stage>', 'where the route is served')
        .choices(['monolith', 'canary', 'service'])
        .makeOptionMandatory(),
    )
    .addOption(
      new Option('--percent <n>', 'canary only: share of users (1-99) the service serves, sticky per user').argParser(
        parsePercent,
      ),
    )
    .action(async (routeId: string, options: SetOptions, command: Command) => {
      const percent = percentFor(options.stage, options.percent, command);
      await changeStage(options, env, out, routeId, options.stage, percent);
    });

  common(
    flags
      .command('rollback')
      .description('send all of a route back to the monolith at once')
      .argument('<route>', 'route id from the route table'),
  ).action((routeId: string, options: CommonOptions) => changeStage(options, env, out, routeId, 'monolith', 0));

  return flags;
}
