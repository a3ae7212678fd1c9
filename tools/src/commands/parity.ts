import { Command } from 'commander';
import { FicusError } from '../../../platform/src/index.js';
import { formatExample, formatRouteParity } from '../parity/format.js';
import { parseSince } from '../duration.js';
import { paritySource, type ParitySourceOptions } from '../parity/source.js';

type Env = Record<string, string | undefined>;

/** `ficus parity`: how closely a route's candidate answers like the serving upstream, from shadow traffic. */
export function parityCommand(
  env: Env,
  out: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Command {
  const sources = (command: Command) =>
    command
      .option('--database <url>', "the router's parity database (default PARITY_DATABASE_URL)")
      .option(
        '--admin <url>',
        'else a router admin API (default ROUTER_ADMIN_URL or http://127.0.0.1:8081; ADMIN_TOKEN)',
      );
  const parity = sources(
    new Command('parity')
      .description('shadow parity per route: match rate with its 95 % interval, differing paths, learned noise, drops')
      .argument('[route]', 'one route id (default: every route with samples)')
      .option('--since <duration>', 'only the last 30m, 1h, 7d...', (value) => parseSince(value))
      .option('--json', 'machine-readable output')
      .option('--top <n>', 'differing paths shown per route', (value) => Number.parseInt(value, 10), 10),
  )
    .addHelpText(
      'after',
      [
        '',
        'A sample matches when every difference between the candidate and the serving answer is at a field that also',
        "differs between the serving upstream's own two answers to the same request (asked twice for idempotent requests):",
        'ids, timestamps and tokens are learned as noise without configuration. Ignore rules, tolerance and set-like arrays',
        'are per route in the route table (shadow: { ignore, tolerance, unordered, headers }).',
        '',
        'Examples:',
        '  npx ficus parity catalog-read --since 1h',
        '  npx ficus parity show ex_3kD9aQ2b',
      ].join('\n'),
    )
    .action(
      async (
        route: string | undefined,
        options: ParitySourceOptions & { since?: number; json?: boolean; top: number },
      ) => {
        const source = paritySource(options, env);
        try {
          const reports = await source.report({ route, since: options.since });
          if (options.json) return out(JSON.stringify({ source: source.description, routes: reports }, null, 2));
          out(
            `parity from ${source.description}${options.since ? ` since ${new Date(options.since).toISOString()}` : ''}`,
          );
          if (reports.length === 0)
            out(
              route
                ? `${route}: no shadow samples yet; set it to shadow: npx ficus flags set ${route} --stage shadow --sample 10`
                : 'no shadow samples yet; set a route to shadow: npx ficus flags set <route> --stage shadow --sample 10',
            );
          for (const report of reports) for (const line of formatRouteParity(report, options.top)) out(line);
        } finally {
          await source.close();
        }
      },
    );
  sources(
    parity
      .command('show')
      .description('one kept example: the two responses side by side, differences marked')
      .argument('<example>', 'example id from the report (ex_...)'),
  )
    .option('--json', 'the example as JSON')
    .action(async (id: string, options: ParitySourceOptions & { json?: boolean }) => {
      const source = paritySource({ ...parity.opts(), ...options }, env);
      try {
        const example = await source.example(id);
        if (!example)
          throw new FicusError(
            'FICUS_ERR_NOT_FOUND',
            `no parity example ${id} in ${source.description}; ids are in npx ficus parity`,
          );
        if (options.json) return out(JSON.stringify(example, null, 2));
        const colour = Boolean(process.stdout.isTTY) && !env['NO_COLOR'];
        for (const line of formatExample(example, { colour, width: process.stdout.columns ?? 120 })) out(line);
      } finally {
        await source.close();
      }
    });
  return parity;
}
