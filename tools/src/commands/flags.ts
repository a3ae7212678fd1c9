import { userInfo } from 'node:os';
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
import { appendAudit, auditFileOf } from '../flags/audit.js';
import { FileFlagStore, storeFor, type FlagStore } from '../flags/flag-store.js';
import { refuseRetired } from '../flags/retired.js';
import { refuseWriteMove } from '../flags/write-routes.js';
import { describeStage, flagsStatus, type StatusOptions } from '../flags/status.js';
import { formatDifferences } from '../parity/format.js';
import { judgePromotion, promotes } from '../parity/gate.js';
import { parseDuration, parseSince } from '../duration.js';
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

/** A route's stage as its two toggles in the store say. */
async function stageIn(store: FlagStore, flag: string): Promise<RouteStage> {
  const [serve, shadow] = await Promise.all([store.get(flag), store.get(shadowFlagOf(flag))]);
  return withSample(stageOf(serve), sampleOf(shadow));
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
      `${route.id} stays ${describeStage(from)}: its parity is below the bar for ${change.stage}`,
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
  refuseRetired(route, options.routes, `cannot set ${route.id} to ${change.stage}`);
  const store = storeFor(options, env);
  await refuseWriteMove(route, change.stage, { store, root: process.cwd() });
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
  await appendAudit(auditFileOf(options.flags, options.audit), {
    at: new Date().toISOString(),
    who,
    route: route.id,
    flag: route.flag,
    from,
    to,
    store: store.description,
    ...gate,
  });
  out(`${route.id}: ${describeStage(from)} → ${describeStage(to)} (${store.description})`);
  out(
    store instanceof FileFlagStore
      ? 'Routers reading this file apply it within a second.'
      : 'Routers apply it at their next Unleash refresh.',
  );
}

const flagStages: readonly Stage[] = ['monolith', 'shadow', 'canary', 'service'];

/** `--stage`: a stage a flag can hold. `retired` is not one: it is declared in the route table. */
function parseStage(value: string): Stage {
  if (value === 'retired')
    throw new InvalidArgumentError(
      'retired is not a flag stage: a route is retired in the route table (stage: retired in routes.yaml) once its ' +
        'module is gone from the monolith, which npx ficus retire <module> does.',
    );
  if (!(flagStages as readonly string[]).includes(value))
    throw new InvalidArgumentError(`Allowed choices are ${flagStages.join(', ')}.`);
  return value as Stage;
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
    'show and change route stages (monolith, shadow, canary N %, service), list flags to clean up; roll back in one command',
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
      .description(
        "each route with its path, service, stage, flag, and whether the service's /readyz answers; then flags to clean up",
      ),
  )
    .option('--json', 'machine-readable output, the cleanup report included')
    .option('--no-probe', "do not ask each service's /readyz")
    .addOption(
      new Option('--stale-after <duration>', 'a flag at 100 % unchanged this long (by the audit log) is stale')
        .default('30d')
        // Checked here, so a bad value is a usage error; kept as written, for messages.
        .argParser((value) => {
          parseDuration(value);
          return value;
        }),
    )
    .addHelpText(
      'after',
      [
        '',
        'Below the routes, the flags to clean up:',
        '  - toggles of retired routes (stage: retired in the route table): the router no longer reads them; delete them;',
        '  - stale flags: a serve toggle at 100 % (stage service) whose last audit entry is older than --stale-after',
        '    (with no entry: the audit log itself is older): retire the module (npx ficus retire <module>) once nobody',
        '    will go back, or keep the flag as the way back.',
      ].join('\n'),
    )
    .action((options: StatusOptions) => flagsStatus(options, env, out));

  common(
    flags
      .command('set')
      .description(
        'set a route to monolith, shadow (with --sample), canary (with --percent) or service; a route that takes writes ' +
          "to an extracted module's data moves only with the data (ficus data cutover / revert)",
      )
      .argument('<route>', 'route id from the route table'),
  )
    .addOption(
      new Option('--stage <stage>', `where the route is served: ${flagStages.join(', ')}`)
        .argParser(parseStage)
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
        'A retired route (stage: retired in the route table) has no flag stage: set and rollback refuse it, since the',
        'monolith no longer has its module. Retiring is npx ficus retire <module>, not a --stage.',
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
