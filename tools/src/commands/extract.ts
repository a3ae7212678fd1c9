import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { serveToggle } from '../../../platform/src/flags/features.js';
import { type ExtractionPlan, planExtraction } from '../extract/plan.js';
import { FileFlagStore } from '../flags/flag-store.js';
import { serviceUrlVariable } from '../services/manifest.js';

type Out = (text: string) => void;

function portNumber(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InvalidArgumentError('expected a port, 1-65535');
  return port;
}

/**
 * Writes a plan so that a failure leaves nothing half-made: the service's files go to a
 * staging folder renamed into place at once; each edited file is written beside itself and
 * renamed over; flags are created last (a missing flag reads as stage monolith anyway).
 */
async function applyPlan(root: string, plan: ExtractionPlan): Promise<void> {
  const dir = `services/${plan.service.name}`;
  const staging = join(root, 'services', `.${plan.service.name}.partial-${randomBytes(4).toString('hex')}`);
  const edits: Array<{ temporary: string; target: string }> = [];
  try {
    for (const file of plan.files) {
      if (file.path.startsWith(`${dir}/`)) {
        const target = join(staging, file.path.slice(dir.length + 1));
        await mkdir(dirname(target), { recursive: true });
        await writeFile(target, file.text);
      } else {
        const target = join(root, file.path);
        const temporary = `${target}.ficus-${randomBytes(4).toString('hex')}.tmp`;
        await mkdir(dirname(target), { recursive: true });
        await writeFile(temporary, file.text);
        edits.push({ temporary, target });
      }
    }
    await rename(staging, join(root, dir));
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    await Promise.all(edits.map((e) => rm(e.temporary, { force: true })));
    throw error;
  }
  for (const e of edits) await rename(e.temporary, e.target);
  const store = new FileFlagStore(join(root, plan.flagsFile));
  for (const { flag, routeId } of plan.flags) await store.put(serveToggle(flag, routeId, 'monolith', 0, 'userId'));
}

function describe(plan: ExtractionPlan, dryRun: boolean, out: Out): void {
  const { service } = plan;
  out(
    `${dryRun ? 'Would extract' : 'Extracted'} ${service.from} into services/${service.name} (port ${service.port}):\n`,
  );
  for (const file of plan.files) {
    out(`  ${file.isNew ? 'create' : 'edit  '} ${file.path}${file.isNew ? '' : `: ${file.changes.join('; ')}`}\n`);
  }
  for (const { flag } of plan.flags) out(`  flag   ${flag} at stage monolith (${plan.flagsFile})\n`);
  if (plan.forced.length) {
    out(
      `\n${dryRun ? 'Would extract' : 'Extracted'} despite (--force):\n${plan.forced.map((b) => `  - ${b}`).join('\n')}\n`,
    );
  }
  out('\nRoutes found in the module (all at stage monolith, falling back to the monolith):\n');
  for (const route of plan.routes)
    out(`  ${route.id.padEnd(24)} ${route.methods.join(',').padEnd(12)} ${route.path}\n`);
  if (dryRun) return;
  out(
    [
      '',
      'Next:',
      `  npm start                                  runs services/${service.name} beside the monolith (its own database, ficus_${service.schema})`,
      `  npx ficus data sync ${service.name}                 replicates the module's tables into it (npm start does this too)`,
      `  npx ficus contract ${service.name}                  the same cases against the monolith and the service`,
      `  npx ficus flags set ${plan.routes[0]?.id ?? `${service.name}-read`} --stage canary --percent 10`,
      `In production the router finds it at ${serviceUrlVariable(service.name)}.`,
      '',
    ].join('\n'),
  );
}

/** `ficus extract <module>`: scaffolds `services/<module>/` from a module and wires it in. */
export function extractCommand(
  env: Record<string, string | undefined>,
  out: Out = (text) => process.stdout.write(text),
): Command {
  return new Command('extract')
    .description(
      'scaffold services/<module>/ from a module: its code, its own database, routes, compose, contract cases',
    )
    .argument('<module>', 'the module to extract (a folder with a module.json)')
    .option('--port <n>', 'the port it listens on in development (default: 3101, or the next free one)', portNumber)
    .option('--dry-run', 'print what it would write, write nothing')
    .option(
      '--force',
      "extract despite blockers (cycles, references to other modules' tables, imports of other modules)",
    )
    .option('--root <dir>', 'repository root', '.')
    .addHelpText(
      'after',
      `
The module's http/, internal/ and migrations/ are copied (the service owns them from then on); its
express router is read for routes (statically: calls with a literal path; add others by hand), split
into <module>-read (GET) and <module>-write entries in the route table, at stage monolith with
fallback to the monolith. Settings in ficus.config.json:
{ "extract": { "mountPath": "/api/v1", "platform": "ficus/platform", "routesFile": "router/routes.yaml" } }.
It never overwrites an existing service. Exit codes: 0 done, 2 refused (the message says why).`,
    )
    .action(async (name: string, options: { port?: number; dryRun?: boolean; force?: boolean; root: string }) => {
      const root = resolve(options.root);
      const plan = await planExtraction(root, name, {
        ...(options.port !== undefined ? { port: options.port } : {}),
        ...(options.force ? { force: true } : {}),
        env,
      });
      if (!options.dryRun) await applyPlan(root, plan);
      describe(plan, Boolean(options.dryRun), out);
    });
}
