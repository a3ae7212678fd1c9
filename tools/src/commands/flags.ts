import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { FicusError } from '../../../platform/src/index.js';
import {
  sampleOf,
  shadowFlagOf,
  stageOf,
  stageToggles,
  withSample,
  type RouteStage,
  type Stage,
} from '../../../platform/src/flags/features.js';
import { loadRouteTable, type CompiledRoute } from '../../../router/src/route-table/load.js';
import { appendAudit } from '../flags/audit.js';
import { FileFlagStore, UnleashFlagStore, type FlagStore } from '../flags/flag-store.js';
import { formatDifferences } from '../parity/format.js';
import { judgePromotion, promotes } from '../parity/gate.js';
import { parseSince } from '../parity/since.js';
import { paritySource, type ParitySourceOptions } from '../parity/source.js';

type Env = Record<string, string | undefined>;

interface CommonOptions {
  routes: string;
  flags: string;
  audit?: string;
}

interface SetOptions extends CommonOptions, ParitySourceOptions {
  since?: number;
  stage: Stage;
  percent?: number;
  sample?: number;
  force?: boolean;
  reason?: string;
}

function describe(stage: RouteStage): string {
  if (stage.stage === 'shadow') return `shadow ${stage.sample} %`;
  const serving = stage.stage === 'canary' ? `canary ${stage.percent} %` : stage.stage;
  return stage.sample ? `${serving} (shadow ${stage.sample} %)` : serving;
}

/** A route's stage as its two toggles in the store say. */
async function stageIn(store: FlagStore, flag: string): Promise<RouteStage> {
  const [serve, shadow] = await Promise.all([store.get(flag), store.get(shadowFlagOf(flag))]);
  return withSample(stageOf(serve), sampleOf(shadow));
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

export function storeFor(options: { flags: string }, env: Env): FlagStore {
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

interface Change {
  stage: Stage;
  percent: number;
  sample: number;
  /** Set when the parity gate was overridden. */
  force?: { reason: string } | undefined;
  parity?: ParitySourceOptions;
  /** Samples from this time on count for the gate (default: the route's promote.window back from now). */
  since?: number | undefined;
}

/**
 * Refuses a promotion (more traffic to the service) below the route's parity bar, with the
 * numbers and the top differences; `--force --reason` goes on and the audit log says so.
 */
async function checkGate(
  route: CompiledRoute,
  from: RouteStage,
  change: Change,
  env: Env,
  out: (line: string) => void,
): Promise<Record<string, unknown> | undefined> {
  const to: RouteStage = { stage: change.stage, percent: change.percent };
  if (route.promote === false || !promotes(from, to)) return undefined;
  const rule = route.promote;
  let numbers: Record<string, unknown> = {};
  let problem: string[];
  let details: string[] = [];
  const source = paritySource(change.parity ?? {}, env);
  try {
    const since = change.since ?? parseSince(rule.window);
    const [parity] = await source.report({ route: route.id, since });
    const verdict = judgePromotion(rule, parity);
    numbers = {
      compared: parity?.compared ?? 0,
      matchRate: parity?.matchRate ?? null,
      minParity: rule.minParity,
      minSamples: rule.minSamples,
      since: new Date(since).toISOString(),
      source: source.description,
    };
    if (verdict.pass) {
      out(
        `${route.id}: parity ${parity?.matchRate === undefined ? 'n/a' : `${(parity.matchRate * 100).toFixed(2)} %`} over ${parity?.compared ?? 0} samples meets the bar (${source.description})`,
      );
      return { parity: numbers };
    }
    problem = verdict.reasons;
    if (parity) details = formatDifferences(parity, 5);
  } catch (error) {
    if (!(error instanceof FicusError) || error.code !== 'FICUS_ERR_PARITY_SOURCE') throw error;
    numbers = { error: error.message };
    problem = [error.message];
  } finally {
    await source.close();
  }
  if (change.force) {
    out(`${route.id}: parity gate overridden (--force): ${problem.join('; ')}; reason: ${change.force.reason}`);
    return { parity: numbers, forced: { reason: change.force.reason, unmet: problem } };
  }
  throw new FicusError(
    'FICUS_ERR_PARITY_GATE',
    [
      `${route.id} stays ${describe(from)}: its parity is below the bar for ${change.stage}`,
      ...problem.map((line) => `  - ${line}`),
      ...(details.length ? ['  top differences:', ...details.map((line) => `    ${line}`)] : []),
      `  see: npx ficus parity ${route.id}; override: --force --reason "<why>" (audited)`,
    ].join('\n'),
  );
}

async function changeStage(
  options: CommonOptions,
  env: Env,
  out: (line: string) => void,
  routeId: string,
  change: Change,
): Promise<void> {
  const route = routeById(options, env, routeId);
  const store = storeFor(options, env);
  const gate = await checkGate(route, await stageIn(store, route.flag), change, env, out);
  const [serve, shadow] = stageToggles(route, change.stage, change.percent, change.sample);
  // A route that never sampled gets no shadow toggle to say it does not: the flags stay as they were.
  const untouched = change.sample === 0 && (await store.get(shadow.name)) === undefined;
  // The stage it replaced, read under the store's lock: two changes at once each audit their own.
  const previousShadow = untouched ? undefined : await store.put(shadow);
  const from = withSample(stageOf(await store.put(serve)), sampleOf(previousShadow));
  // Report and audit what the store now holds, not what was meant to be written.
  const to = await stageIn(store, route.flag);
  const who = env['FICUS_ACTOR'] ?? env['USER'] ?? userInfo().username;
  await appendAudit(options.audit ?? join(dirname(options.flags), 'flags-audit.jsonl'), {
    at: new Date().toISOString(),
    who,
    route: route.id,
    flag: route.flag,
    from,
    to,
    store: store.description,
    ...gate,
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
 * The share of requests mirrored and compared: --sample at shadow (default 10 %), optional at
 * canary and service, none at monolith (the stage without shadow traffic).
 */
function sampleFor(stage: Stage, sample: number | undefined, command: Command): number {
  const usage = (message: string): never => command.error(`error: ${message}`, { exitCode: 2, code: 'ficus.sample' });
  if (stage === 'monolith' && sample) usage('--stage monolith mirrors nothing; use --stage shadow --sample N');
  if (stage === 'shadow' && sample === 0) usage('--stage shadow --sample 0 mirrors nothing; use --stage monolith');
  return sample ?? (stage === 'shadow' ? 10 : 0);
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
    // shadow is served by the monolith, like stage monolith.
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
    'show and change route stages (monolith, shadow, canary N %, service); roll back in one command',
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
          ...(await stageIn(store, route.flag)),
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
      .description('set a route to monolith, shadow (with --sample), canary (with --percent) or service')
      .argument('<route>', 'route id from the route table'),
  )
    .addOption(
      new Option('--stage <stage>', 'where the route is served')
        .choices(['monolith', 'shadow', 'canary', 'service'])
        .makeOptionMandatory(),
    )
    .addOption(
      new Option('--percent <n>', 'canary only: share of users (1-99) the service serves, sticky per user').argParser(
        parsePercent,
      ),
    )
    .addOption(
      new Option(
        '--sample <n>',
        'share of requests (0-100) mirrored to the other upstream and compared: default 10 at shadow, 0 elsewhere',
      ).argParser(parsePercent),
    )
    .option('--force', 'promote even though the parity gate refuses (needs --reason; audited)')
    .option('--reason <text>', 'why the parity gate is overridden (with --force)')
    .option('--database <url>', 'parity from this PostgreSQL database (default PARITY_DATABASE_URL)')
    .option('--admin <url>', 'parity from this router admin API (default ROUTER_ADMIN_URL or http://127.0.0.1:8081)')
    .option(
      '--since <duration>',
      "samples of the last 30m, 1h, 7d count for the gate (default: the route's promote.window, 24h)",
      (value) => parseSince(value),
    )
    .addHelpText(
      'after',
      [
        '',
        'Parity gate: moving a route to canary (or a larger canary) or to service needs its shadow parity to meet the',
        "route's promote rule in the route table (default promote: { minParity: 0.99, minSamples: 500, window: 24h };",
        'promote: false turns it off), counting the samples of the window (--since to choose another). Below it the',
        'change is refused with the numbers and the top differences; --force --reason "..."',
        'goes on and the audit log records it. Moves back (rollback) are never gated.',
        '',
        'Examples:',
        '  npx ficus flags set catalog-read --stage shadow --sample 25',
        '  npx ficus flags set catalog-read --stage canary --percent 10 --sample 10',
        '  npx ficus flags set catalog-read --stage service --force --reason "parity store down, verified by hand"',
      ].join('\n'),
    )
    .action(async (routeId: string, options: SetOptions, command: Command) => {
      const percent = percentFor(options.stage, options.percent, command);
      const sample = sampleFor(options.stage, options.sample, command);
      if (options.force && !options.reason?.trim())
        command.error('error: --force needs --reason "<why>": the audit log records it', { exitCode: 2 });
      if (options.reason && !options.force) command.error('error: --reason goes with --force', { exitCode: 2 });
      await changeStage(options, env, out, routeId, {
        stage: options.stage,
        percent,
        sample,
        force: options.force ? { reason: options.reason!.trim() } : undefined,
        parity: { database: options.database, admin: options.admin },
        since: options.since,
      });
    });

  common(
    flags
      .command('rollback')
      .description('send all of a route back to the monolith at once')
      .argument('<route>', 'route id from the route table'),
  ).action((routeId: string, options: CommonOptions) =>
    changeStage(options, env, out, routeId, { stage: 'monolith', percent: 0, sample: 0 }),
  );

  return flags;
}
