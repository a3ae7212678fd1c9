import { Command } from 'commander';
import { routerConfigSchema } from '../../../router/src/config.js';
import { runRouter } from '../../../router/src/entry.js';

type Env = Record<string, string | undefined>;

/** Each variable routerConfigSchema reads, with its default: read off the schema, so the list cannot drift. */
function routerVariables(): Array<{ name: string; default?: string }> {
  return Object.entries(routerConfigSchema.shape).map(([name, field]) => {
    const parsed = field.safeParse(undefined);
    return parsed.success && parsed.data !== undefined ? { name, default: String(parsed.data) } : { name };
  });
}

function environmentHelp(): string {
  const width = Math.max(...routerVariables().map((v) => v.name.length)) + 2;
  const lines = routerVariables().map((v) => `  ${v.name.padEnd(width)}${v.default ?? '(unset)'}`);
  return [
    '',
    'Environment, with defaults (validated at startup: an invalid value stops the router, naming it):',
    ...lines,
    'and every ${VAR} the route table reads. Route table and flags formats: docs/router.md in the package.',
  ].join('\n');
}

/**
 * `ficus router`: the standalone router in front of a monolith, configured by the environment alone, until
 * SIGTERM or SIGINT drains it (exit 0).
 */
export function routerCommand(env: Env): Command {
  return new Command('router')
    .description('run the standalone router (proxy and admin API) configured by environment variables')
    .addHelpText('after', environmentHelp)
    .action(async () => {
      await runRouter(env);
    });
}
