import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { FicusError } from '../../../platform/src/index.js';
import { readContract } from '../contract/cases.js';
import { type ContractTarget, runContract } from '../contract/run.js';
import { discoverServices, serviceUrlVariable } from '../services/manifest.js';

type Env = Record<string, string | undefined>;

/** `ficus contract <service>`: the service's JSON cases against the monolith and the service. */
export function contractCommand(env: Env, out: (text: string) => void = (text) => process.stdout.write(text)): Command {
  return new Command('contract')
    .description("run a service's contract cases against the monolith and the service: expectations and parity")
    .argument('<service>', 'a service under services/')
    .option('--monolith <url>', 'the monolith (default: MONOLITH_URL, else http://127.0.0.1:3000)')
    .option('--service <url>', "the service (default: <NAME>_SERVICE_URL, else 127.0.0.1 and its manifest's port)")
    .addOption(new Option('--only <side>', 'run against one side only (no parity)').choices(['monolith', 'service']))
    .option('--cases <file>', 'the cases (default: services/<service>/contract/cases.json)')
    .option('--root <dir>', 'repository root', '.')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      `
Each case is a request with an expected status and body shape; every case runs on both sides with
the same x-request-id, and both must answer it the same (status and JSON body, minus the case's
"ignore" paths). Exit codes: 0 all passed, 1 a case failed, 2 bad input.`,
    )
    .action(
      async (
        name: string,
        options: { monolith?: string; service?: string; only?: string; cases?: string; root: string; json?: boolean },
      ) => {
        const root = resolve(options.root);
        const service = discoverServices(root).find((s) => s.name === name);
        if (!service && !options.cases) {
          throw new FicusError(
            'FICUS_ERR_CONFIG',
            `no service "${name}" under services/; run npx ficus extract ${name} first`,
          );
        }
        const contract = readContract(options.cases ?? join(root, service!.dir, 'contract/cases.json'));
        const sides: ContractTarget[] = [
          { name: 'monolith', url: options.monolith ?? env['MONOLITH_URL'] ?? 'http://127.0.0.1:3000' },
          {
            name: 'service',
            url: options.service ?? env[serviceUrlVariable(name)] ?? `http://127.0.0.1:${service?.port ?? 3101}`,
          },
        ];
        const targets = sides.filter((side) => !options.only || side.name === options.only);
        const results = await runContract(contract, targets);
        const failed = results.filter((r) => !r.passed).length;
        if (options.json) out(`${JSON.stringify({ targets, results }, null, 2)}\n`);
        else {
          out(`Contract of ${name}: ${targets.map((t) => `${t.name} ${t.url}`).join(' against ')}\n`);
          for (const result of results) {
            const statuses = Object.entries(result.statuses)
              .map(([side, status]) => `${side} ${status}`)
              .join(', ');
            out(`  ${result.passed ? 'ok  ' : 'FAIL'} ${result.name}${statuses ? `  (${statuses})` : ''}\n`);
            for (const problem of result.problems) out(`         ${problem}\n`);
          }
          out(`${results.length - failed} passed, ${failed} failed\n`);
        }
        if (failed) process.exitCode = 1;
      },
    );
}
