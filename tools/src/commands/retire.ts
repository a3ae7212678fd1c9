import { resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { Command } from 'commander';
import { FicusError } from '../../../platform/src/index.js';
import { parseDuration } from '../duration.js';
import { storeFor } from '../flags/flag-store.js';
import { describeRetire, planRetire, runRetire } from '../retire/retire.js';
import { pairOf } from './data.js';

type Env = Record<string, string | undefined>;
type Out = (text: string) => void;

interface RetireFlags {
  routes: string;
  flags: string;
  audit?: string;
  servedFor: number;
  keepSchema?: boolean;
  yes?: boolean;
  source?: string;
  target?: string;
  schema?: string;
}

/** Asks for the module's name on a terminal; anything else is a no. */
async function confirmed(module: string): Promise<boolean> {
  const terminal = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return (await terminal.question(`Type "${module}" to retire it: `)).trim() === module;
  } finally {
    terminal.close();
  }
}

/** `ficus retire <module>`: the last step of a migration, once nobody wants to go back. */
export function retireCommand(env: Env, out: Out = (text) => process.stdout.write(text), root = '.'): Command {
  return new Command('retire')
    .description('remove a module from the monolith for good, once its service has served it a while (stage retired)')
    .argument('<module>', 'the monolith module, e.g. catalog')
    .option('--routes <file>', 'route table', env['ROUTES_FILE'] ?? 'router/routes.yaml')
    .option('--flags <file>', 'local flags file (unless UNLEASH_URL is set)', env['FLAGS_FILE'] ?? 'router/flags.json')
    .option('--audit <file>', 'audit log (default: flags-audit.jsonl beside the flags file)')
    .option(
      '--served-for <duration>',
      'how long the service must have served all of it (audit log), e.g. 7d; 0 for no wait',
      (v) => (v === '0' ? 0 : parseDuration(v)),
      parseDuration('7d'),
    )
    .option('--keep-schema', "keep the monolith's copy of the module's schema (default: dropped)")
    .option('-y, --yes', 'do not ask for a confirmation')
    .option('--source <url>', 'monolith database admin URL (default: DATABASE_URL)')
    .option('--target <url>', 'service database admin URL (default: <MODULE>_DATABASE_URL, else <database>_<schema>)')
    .option('--schema <name>', "the module's schema (default: from services/<module>/service.json)")
    .addHelpText(
      'after',
      `
Checks first, and refuses with what to do: the module has a service; its writes are on the
service (ficus data cutover finished: the monolith's tables frozen, ficus.<module>-api on);
every route of the service is at stage service, and none of their flags changed for
--served-for (from the audit log).

Then, after a confirmation (type the module's name, or --yes):
  1. the service's routes in the route table get stage: retired (the router sends all of their
     requests to the service, with no fallback, whatever the flags say);
  2. monolith/src/modules/<module>/module.json gets "retired": the monolith no longer migrates,
     connects to or mounts the module, and its other modules call the service's API (they need
     <MODULE>_SERVICE_URL);
  3. the replication from the service back to the monolith is removed;
  4. the monolith's copy of the schema is dropped (not with --keep-schema).
Restart the monolith afterwards. The module's code stays in monolith/src/modules/<module> (its
types and API are what the other modules import); ficus flags status lists the flags left to
delete.

Environment: DATABASE_URL (--source), <MODULE>_DATABASE_URL (--target), UNLEASH_URL and
UNLEASH_ADMIN_TOKEN (flags in Unleash), FLAGS_FILE, ROUTES_FILE.`,
    )
    .action(async (module: string, flags: RetireFlags) => {
      const pair = pairOf(module, flags, env, root, () => undefined);
      const options = {
        root: resolve(root),
        pair,
        routesFile: flags.routes,
        flagsFile: flags.flags,
        audit: flags.audit,
        store: storeFor(flags, env),
        env,
        servedForMs: flags.servedFor,
        keepSchema: flags.keepSchema ?? false,
      };
      const plan = await planRetire(options);
      out(`${describeRetire(plan, options).join('\n')}\n`);
      if (!flags.yes) {
        if (!process.stdin.isTTY)
          throw new FicusError('FICUS_ERR_RETIRE', 'retire needs a confirmation: run it in a terminal, or pass --yes');
        if (!(await confirmed(module))) {
          out('not retired: nothing was changed\n');
          return;
        }
      }
      await runRetire(plan, options, (line) => out(`${line}\n`));
      out(
        `${module} is retired: restart the monolith (it starts without ${module}); npx ficus flags status lists the flags to delete\n`,
      );
    });
}
