import { resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { FicusError, withDatabase } from '../../../platform/src/index.js';
import { dataStatus, verifyData } from '../data/inspect.js';
import type { DataPair } from '../data/pair.js';
import { startSync, stopSync } from '../data/sync.js';
import { serviceDatabaseName } from '../services/database.js';
import { discoverServices } from '../services/manifest.js';

type Env = Record<string, string | undefined>;
type Out = (text: string) => void;

interface PairOptions {
  source?: string;
  target?: string;
  publisherConninfo?: string;
  schema?: string;
  root: string;
}

/** The replication of `module`: from the monolith's DATABASE_URL to its service's database. */
export function pairFor(module: string, options: PairOptions, env: Env): DataPair {
  const sourceUrl = options.source ?? env['DATABASE_URL'];
  if (!sourceUrl) {
    throw new FicusError(
      'FICUS_ERR_DATA_SETUP',
      "DATABASE_URL is not set: ficus data needs an admin connection to the monolith's database (or --source <url>)",
    );
  }
  const service = discoverServices(resolve(options.root)).find((s) => s.module === module || s.name === module);
  const schema = options.schema ?? service?.schema ?? module.replaceAll('-', '_');
  const variable = `${module.toUpperCase().replaceAll('-', '_')}_DATABASE_URL`;
  const targetUrl =
    options.target ?? env[variable] ?? withDatabase(sourceUrl, serviceDatabaseName(sourceUrl, { schema }));
  return {
    module,
    schema,
    sourceUrl,
    targetUrl,
    ...(options.publisherConninfo ? { publisherConninfo: options.publisherConninfo } : {}),
  };
}

function withPairOptions(command: Command): Command {
  return command
    .argument('<module>', 'the module whose service database is kept in sync')
    .option('--source <url>', "admin URL of the monolith's database (default: DATABASE_URL)")
    .option(
      '--target <url>',
      "admin URL of the service's database (default: <MODULE>_DATABASE_URL, else the source server's <database>_<schema>, e.g. ficus_catalog)",
    )
    .option(
      '--publisher-conninfo <conninfo>',
      "how the service's server reaches the monolith's (default: the source URL)",
    )
    .option('--schema <name>', "the module's schema (default: from services/<module>/service.json)")
    .option('--root <dir>', 'repository root', '.');
}

const positive = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive whole number');
  return n;
};

/** `ficus data sync|status|verify|stop <module>`: the service's replica of its module's tables. */
export function dataCommand(env: Env, out: Out = (text) => process.stdout.write(text)): Command {
  const data = new Command('data').description(
    "keep an extracted service's database in sync with its module's schema (PostgreSQL logical replication)",
  );
  withPairOptions(
    data.command('sync').description("replicate the module's tables into the service database: copy, then stream"),
  )
    .option('--reset', 'empty the service tables first when they already hold rows')
    .action(async (module: string, options: PairOptions & { reset?: boolean }) => {
      const pair = pairFor(module, options, env);
      const result = await startSync(pair, { reset: Boolean(options.reset), say: (line) => out(`${line}\n`) });
      out(
        `ficus: ${module}: ${result === 'started' ? 'replicating; the monolith stays the writer' : 'nothing to do'}\n`,
      );
    });
  withPairOptions(
    data.command('status').description('per table: state and rows on each side; the lag in bytes and seconds'),
  )
    .option('--json', 'machine-readable output')
    .action(async (module: string, options: PairOptions & { json?: boolean }) => {
      const status = await dataStatus(pairFor(module, options, env));
      if (options.json) return out(`${JSON.stringify(status, null, 2)}\n`);
      const lag =
        status.lagBytes === null ? 'no slot' : `${status.lagBytes} bytes, ${(status.lagSeconds ?? 0).toFixed(3)} s`;
      out(
        `${module}: ${status.state}, worker ${status.workerRunning ? 'running' : 'not running'}, lag ${lag}, errors ${status.errors}\n`,
      );
      for (const t of status.tables)
        out(`  ${t.table.padEnd(24)} ${t.state.padEnd(14)} monolith ${t.sourceRows} rows, service ${t.targetRows}\n`);
    });
  withPairOptions(
    data
      .command('verify')
      .description('compare rows and checksums per primary-key range on both sides; exit 1 on a difference'),
  )
    .option('--chunk-rows <n>', 'rows per key range', positive, 10_000)
    .option('--fix-sequences', "set the service's sequences to the monolith's values (they are not replicated)")
    .option('--json', 'machine-readable output')
    .action(
      async (module: string, options: PairOptions & { chunkRows: number; fixSequences?: boolean; json?: boolean }) => {
        const started = Date.now();
        const report = await verifyData(pairFor(module, options, env), {
          chunkRows: options.chunkRows,
          fixSequences: Boolean(options.fixSequences),
        });
        if (report.differences.length) process.exitCode = 1;
        if (options.json) return out(`${JSON.stringify(report, null, 2)}\n`);
        if (!report.caughtUp) out('warning: the service had not caught up within 10 s; differences may be lag\n');
        for (const t of report.tables) {
          out(
            `  ${t.table.padEnd(24)} ${t.equal ? 'equal' : 'DIFFERENT'}  ${t.sourceRows} rows / ${t.targetRows} rows in ${t.chunks} ranges\n`,
          );
        }
        for (const d of report.differences) {
          out(
            `    ${d.table} ${d.range}: monolith ${d.source.rows} rows (${d.source.checksum}), service ${d.target.rows} rows (${d.target.checksum})\n`,
          );
        }
        for (const s of report.sequences) {
          out(
            `  sequence ${s.sequence}: monolith ${s.source}, service ${s.target}${s.fixed ? " (set to the monolith's)" : ''}\n`,
          );
        }
        if (report.sequences.length === 0) out('  no sequences in the schema\n');
        const rows = report.tables.reduce((n, t) => n + t.sourceRows, 0);
        out(
          `${report.differences.length ? 'different' : 'equal'}: ${rows} rows in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
        );
      },
    );
  withPairOptions(
    data.command('stop').description('remove the subscription, the replication slot and the publication'),
  ).action(async (module: string, options: PairOptions) => {
    const removed = await stopSync(pairFor(module, options, env));
    out(
      removed.length ? `ficus: ${module}: removed ${removed.join(', ')}\n` : `ficus: ${module}: was not replicating\n`,
    );
  });
  return data;
}
