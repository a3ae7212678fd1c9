import { resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { FicusError, moduleRoleName, withDatabase } from '../../../platform/src/index.js';
import { moveWriter } from '../data/cutover.js';
import { flagSwitch } from '../data/writer-switch.js';
import { storeFor } from '../flags/flag-store.js';
import { formatStatus, formatVerify } from '../data/format.js';
import type { DataPair } from '../data/pair.js';
import { dataStatus } from '../data/status.js';
import { stopSync } from '../data/stop.js';
import { startSync } from '../data/sync.js';
import { verifyData } from '../data/verify.js';
import { serviceDatabaseName } from '../services/database.js';
import { discoverServices } from '../services/manifest.js';

type Env = Record<string, string | undefined>;
type Out = (text: string) => void;

interface PairOptions {
  source?: string;
  target?: string;
  publisherConninfo?: string;
  schema?: string;
  json?: boolean;
}

/** The service database's variable, e.g. `CATALOG_DATABASE_URL`. */
const targetVariable = (module: string) => `${module.toUpperCase().replaceAll('-', '_')}_DATABASE_URL`;

function postgresUrl(value: string, what: string): string {
  if (URL.canParse(value) && /^postgres(ql)?:$/.test(new URL(value).protocol)) return value;
  throw new FicusError(
    'FICUS_ERR_CONFIG',
    `${what} is not a postgres:// URL; pass one like postgres://user:password@host:5432/db`,
  );
}

/** The pair a command works on, from its options, then the environment, then the defaults --help states. */
export function pairOf(
  module: string,
  options: PairOptions,
  env: Env,
  root: string,
  say: (line: string) => void,
): DataPair {
  if (!/^[a-z][a-z0-9-]*$/.test(module)) {
    throw new FicusError('FICUS_ERR_CONFIG', `"${module}" is not a module name: use lower-case letters, digits and -`);
  }
  const source = options.source ?? env['DATABASE_URL'];
  if (!source) {
    throw new FicusError(
      'FICUS_ERR_CONFIG',
      'DATABASE_URL is not set: pass --source <url> or set DATABASE_URL to the monolith database (an admin role)',
    );
  }
  const sourceUrl = postgresUrl(source, options.source ? '--source' : 'DATABASE_URL');
  const service = discoverServices(root).find((s) => s.module === module || s.name === module);
  const schema = options.schema ?? service?.schema ?? module.replaceAll('-', '_');
  const target = options.target ?? env[targetVariable(module)];
  // The database `ficus db migrate` and `npm start` create for the service: <database>_<schema>.
  const targetUrl = target
    ? postgresUrl(target, options.target ? '--target' : targetVariable(module))
    : withDatabase(sourceUrl, serviceDatabaseName(sourceUrl, { schema }));
  return {
    module,
    schema,
    sourceUrl,
    targetUrl,
    ...(options.publisherConninfo ? { publisherConninfo: options.publisherConninfo } : {}),
    say,
  };
}

function wholeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('Use a whole number of rows, such as 10000.');
  return n;
}

const environment = `
Environment:
  DATABASE_URL            the monolith database, as an admin role (--source)
  <MODULE>_DATABASE_URL   the service database, e.g. CATALOG_DATABASE_URL (--target); without it, the
                          database <source database>_<schema> on the source's server (ficus_catalog
                          beside ficus), as ficus db migrate and npm start create it
The schema is services/<module>/service.json's "schema" when there is one, else the module name
with - as _ (--schema).`;

/** Adds the options every `ficus data` subcommand takes. */
function pairCommand(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .argument('<module>', 'the monolith module, e.g. catalog')
    .option('--source <url>', 'monolith database admin URL (default: DATABASE_URL)')
    .option('--target <url>', 'service database admin URL (default: <MODULE>_DATABASE_URL, else <database>_<schema>)')
    .option(
      '--publisher-conninfo <conninfo>',
      "how the target's server reaches the source, when they are different servers (default: the source URL)",
    )
    .option('--schema <name>', "the module's schema (default: from services/<module>/service.json, else the module)");
}

/** `ficus data`: logical replication of a module's schema into its extracted service's database. */
export function dataCommand(env: Env, out: Out = (text) => process.stdout.write(text), root = '.'): Command {
  const data = new Command('data').description(
    "replicate a module's tables into its service's database (PostgreSQL logical replication): sync, status, verify, stop, cutover, revert",
  );
  const sayTo = (json: boolean | undefined) => (line: string) =>
    json ? process.stderr.write(`${line}\n`) : out(`${line}\n`);
  const pair = (module: string, options: PairOptions) =>
    pairOf(module, options, env, resolve(root), sayTo(options.json));

  data.addCommand(
    pairCommand(
      'sync',
      "start replicating the module's schema from the monolith database to the service's and wait for the initial copy",
    )
      .option(
        '--reset',
        "empty the target's tables first (their rows are lost); without it, tables holding rows are refused",
      )
      .addHelpText(
        'after',
        `
Checks first: wal_level = logical on the source, both databases reachable, the same tables and
columns on both sides (run the service's migrations first), a primary key on every table, empty
target tables. Creates a publication and a replication slot on the source and a subscription on
the target, all named ficus_<schema>_<hash>; if a step fails, removes what it created. The
monolith stays the writer. Running it again while syncing changes nothing. Interrupting the wait
leaves the copy running: see ficus data status.
${environment}`,
      )
      .action(async (module: string, options: PairOptions & { reset?: boolean }) => {
        await startSync(pair(module, options), { reset: options.reset ?? false });
      }),
  );
  data.addCommand(
    pairCommand(
      'status',
      'per table replication state and rows on both sides, lag, worker and errors; after a cutover, of the replication back',
    )
      .option('--json', 'machine-readable output')
      .addHelpText('after', environment)
      .action(async (module: string, options: PairOptions) => {
        const forward = pair(module, options);
        let status = await dataStatus(forward);
        // After a cutover the rows flow the other way: the service is the writer, the monolith its copy.
        if (status.state === 'not syncing' && status.leftovers.length === 0) {
          const back = await dataStatus({
            ...forward,
            sourceUrl: forward.targetUrl,
            targetUrl: forward.sourceUrl,
            direction: 'the service to the monolith (cut over: the service is the writer)',
          });
          if (back.state !== 'not syncing') status = back;
        }
        out(options.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status));
      }),
  );
  data.addCommand(
    pairCommand(
      'verify',
      'compare rows on both sides by checksums of key ranges (exit 1 when they differ), and sequences',
    )
      .option('--chunk-rows <n>', 'rows per checksummed key range', wholeNumber, 10_000)
      .option(
        '--fix-sequences',
        "set the target's sequences that are behind to the source's values (or the largest key)",
      )
      .option('--json', 'machine-readable output')
      .addHelpText(
        'after',
        `
Waits until the subscription has applied everything the source had written when it started,
then compares each table's row count and checksums per primary-key range, and names the keys
that differ. PostgreSQL does not replicate sequence values: they are listed, and set with
--fix-sequences. Exit codes: 0 equal, 1 rows differ, 2 setup problem.
${environment}`,
      )
      .action(async (module: string, options: PairOptions & { chunkRows: number; fixSequences?: boolean }) => {
        const result = await verifyData(pair(module, options), {
          chunkRows: options.chunkRows,
          fixSequences: options.fixSequences ?? false,
        });
        out(options.json ? `${JSON.stringify(result, null, 2)}\n` : formatVerify(result));
        if (!result.equal) process.exitCode = 1;
      }),
  );
  data.addCommand(
    pairCommand('stop', 'stop replicating: drop the subscription on the target, the slot and publication on the source')
      .addHelpText('after', `\nThe target keeps its rows. Nothing there: says so and exits 0.\n${environment}`)
      .action(async (module: string, options: PairOptions) => {
        await stopSync(pair(module, options));
      }),
  );
  const writerCommand = (name: 'cutover' | 'revert') =>
    pairCommand(
      name,
      name === 'cutover'
        ? "move the module's writes to its service: freeze, catch up, verify, replicate back, switch, unfreeze"
        : 'move the writes back to the monolith, losslessly, at any time after a cutover',
    )
      .option('--routes <file>', 'route table', env['ROUTES_FILE'] ?? 'router/routes.yaml')
      .option(
        '--flags <file>',
        'local flags file (unless UNLEASH_URL is set)',
        env['FLAGS_FILE'] ?? 'router/flags.json',
      )
      .option('--audit <file>', 'audit log (default: flags-audit.jsonl beside the flags file)')
      .option('--reverse-conninfo <conninfo>', "how the new replica's server reaches the new writer (default: its URL)")
      .option('--catch-up-timeout <ms>', 'longest wait for the replica to apply the last change', wholeNumber, 10_000)
      .option(
        '--no-ready-check',
        "do not ask the new writer's /readyz (at its url in the route table) before switching the writes to it",
      )
      .option('--json', 'machine-readable output')
      .addHelpText(
        'after',
        [
          '',
          name === 'cutover'
            ? "Steps, each logged with its duration: (a) freeze the module's writes in the monolith (any write fails fast,"
            : 'Steps: the same as cutover, from the service to the monolith: freeze the service, catch the monolith up,',
          name === 'cutover'
            ? "503 Retry-After: 1), held by this command's own session; (b) wait until the service has applied the"
            : "verify, set sequences, replicate the monolith back to the service, open the monolith's writes, switch the",
          name === 'cutover'
            ? "monolith's current WAL position; (c) verify, set sequences; (d) replicate the service back to the monolith"
            : 'write routes to stage monolith and the API flag off; then freeze the service for good.',
          name === 'cutover'
            ? '(no copy); (e) open writes on the service; (f) check its /readyz and switch: the write routes to stage'
            : null,
          name === 'cutover'
            ? 'service and the flag ficus.<module>-api on; then freeze the monolith for good and stop the replication to'
            : null,
          name === 'cutover' ? 'the service.' : null,
          '',
          'Until the switch, the old writer stays the writer: a failure undoes the steps before it, and a killed command',
          "or a lost connection ends the freeze by itself (it is held by the command's session). The switch is one write",
          'to the flags file; if the command stops after it, run it again: it sees the writes switched and finishes.',
          "The route table's urls (MONOLITH_URL, <NAME>_SERVICE_URL) tell where the new writer's /readyz is.",
          'The freeze window is printed at the end.',
          `${environment}`,
        ]
          .filter((line) => line !== null)
          .join('\n'),
      )
      .action(
        async (
          module: string,
          options: PairOptions & {
            routes: string;
            flags: string;
            audit?: string;
            reverseConninfo?: string;
            catchUpTimeout: number;
            readyCheck: boolean;
          },
        ) => {
          const forward = pair(module, options);
          const service = discoverServices(resolve(root)).find((s) => s.module === module || s.name === module);
          if (!service)
            throw new FicusError(
              'FICUS_ERR_CONFIG',
              `no service under services/ is extracted from ${module}: run ficus extract ${module} first`,
            );
          const role = moduleRoleName(env['DB_ROLE_PREFIX'] ?? 'ficus_', forward.schema);
          const moving =
            name === 'cutover'
              ? forward
              : {
                  ...forward,
                  sourceUrl: forward.targetUrl,
                  targetUrl: forward.sourceUrl,
                  direction: 'the service to the monolith',
                };
          const result = await moveWriter(moving, {
            role,
            catchUpTimeoutMs: options.catchUpTimeout,
            reverseConninfo: options.reverseConninfo,
            switch: flagSwitch({
              store: storeFor(options, env),
              routesFile: options.routes,
              flagsFile: options.flags,
              audit: options.audit,
              env,
              module,
              service: service.name,
              toService: name === 'cutover',
              readyCheck: options.readyCheck,
            }),
          });
          if (options.json) return out(`${JSON.stringify(result, null, 2)}\n`);
          out(
            `${module}: the writer is now ${name === 'cutover' ? 'the service' : 'the monolith'}; writes were frozen for ${Math.round(result.freezeMs)} ms\n`,
          );
        },
      );
  data.addCommand(writerCommand('cutover'));
  data.addCommand(writerCommand('revert'));
  return data;
}
