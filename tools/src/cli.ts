import { Command, CommanderError } from 'commander';
import { FicusError } from '../../platform/src/index.js';
import { boundariesCommand } from './commands/boundaries.js';
import { contractCommand } from './commands/contract.js';
import { dataCommand } from './commands/data.js';
import { dbCommand } from './commands/db.js';
import { runDev } from './commands/dev.js';
import { extractCommand } from './commands/extract.js';
import { flagsCommand } from './commands/flags.js';
import { parityCommand } from './commands/parity.js';
import { replayCommand } from './commands/replay.js';
import { readinessCommand } from './commands/readiness.js';
import { retireCommand } from './commands/retire.js';
import { routerCommand } from './commands/router.js';
import { ficusVersion } from './ficus-package.js';

type Env = Record<string, string | undefined>;

/** Errors in what the user gave us (settings, manifests, route tables): exit code 2. */
const configurationErrors = new Set([
  'FICUS_ERR_CONFIG',
  'FICUS_ERR_MODULE_MANIFEST',
  'FICUS_ERR_ROUTE_INVALID',
  'FICUS_ERR_EXTRACT',
  'FICUS_ERR_DATA_SETUP',
]);

/** The `ficus` command line. Exit codes: 0 success, 1 failure, 2 usage or configuration error. */
function buildCli(env: Env): Command {
  const program = new Command('ficus')
    .description('strangler-fig migration toolkit: route, extract, shadow and shift traffic from a modular monolith')
    .version(ficusVersion)
    .enablePositionalOptions();
  program
    .command('dev')
    .description(
      'run the demo: embedded PostgreSQL (unless DATABASE_URL), migrations, demo data, the monolith, the router in front',
    )
    .addHelpText(
      'after',
      '\nEnvironment: DATABASE_URL, PORT (monolith, 3000), ROUTER_PORT (8080), ADMIN_PORT (8081), FICUS_DATA_DIR (.data), FICUS_PG_PORT (54329), LOG_LEVEL, LOG_FORMAT (pretty or json); per service under services/: <NAME>_SERVICE_PORT (its service.json port), SERVICE_LOG_LEVEL (warn).',
    )
    .action(() => runDev(env));
  program.addCommand(dbCommand(env));
  program.addCommand(flagsCommand(env));
  program.addCommand(boundariesCommand());
  program.addCommand(readinessCommand(env));
  program.addCommand(extractCommand(env));
  program.addCommand(contractCommand(env));
  program.addCommand(dataCommand(env));
  program.addCommand(parityCommand(env));
  program.addCommand(replayCommand(env));
  program.addCommand(retireCommand(env));
  program.addCommand(routerCommand(env));
  usageErrorsExitTwo(program, 'ficus');
  return program;
}

/**
 * Makes every command's usage errors throw (main turns them into exit code 2) and end with a
 * hint to that command's --help. Commander copies these settings only to subcommands made with
 * `.command()`, not to those given to `.addCommand()`: theirs would call process.exit(1), which
 * `ficus boundaries` uses for "violations found".
 */
function usageErrorsExitTwo(command: Command, path: string): void {
  command.exitOverride().showHelpAfterError(`(run ${path} --help for usage)`);
  for (const sub of command.commands) usageErrorsExitTwo(sub, `${path} ${sub.name()}`);
}

export async function main(argv: string[], env: Env): Promise<number> {
  try {
    await buildCli(env).parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (error instanceof FicusError) {
      process.stderr.write(`ficus: ${error.code}: ${error.message}\n`);
      return configurationErrors.has(error.code) ? 2 : 1;
    }
    process.stderr.write(`ficus: ${(error as Error)?.stack ?? String(error)}\n`);
    return 1;
  }
}
