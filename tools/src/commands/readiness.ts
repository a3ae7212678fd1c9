import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { FicusError } from '../../../platform/src/index.js';
import { loadRouteTable } from '../../../router/src/route-table/load.js';
import { readBaseline } from '../boundaries/baseline.js';
import { checkBoundaries } from '../boundaries/check.js';
import { loadFicusConfig } from '../boundaries/config.js';
import { assessReadiness, formatReadiness } from '../readiness/assess.js';
import { dataStatus } from '../data/status.js';
import { discoverServices } from '../services/manifest.js';
import { pairOf } from './data.js';

type Env = Record<string, string | undefined>;

/** Whether an extracted module's data is in sync with its service, in words (asks PostgreSQL when it can). */
async function dataState(module: string, root: string, env: Env): Promise<string> {
  if (!env['DATABASE_URL']) return 'its data sync is not known here (set DATABASE_URL to ask PostgreSQL)';
  try {
    const status = await dataStatus(pairOf(module, {}, env, root, () => undefined));
    if (status.state === 'not syncing') return `its data is not replicated (npx ficus data sync ${module})`;
    return status.state === 'streaming' && (status.subscription?.applyErrors ?? 0) === 0
      ? `its data is in sync by logical replication (lag ${status.lag?.bytes ?? 0} bytes)`
      : `its data replication is ${status.state} (npx ficus data status ${module})`;
  } catch (error) {
    return `its data sync could not be read: ${(error as Error).message}`;
  }
}

/** `ficus readiness [module]`: what each module is tangled with, and which to extract first. */
export function readinessCommand(
  env: Env,
  out: (text: string) => void = (text) => process.stdout.write(text),
): Command {
  return new Command('readiness')
    .description('rank modules by how ready they are to extract, with the reasons and call sites')
    .argument('[module]', 'show only this module (the ranking still covers all)')
    .option('--root <dir>', 'repository root', '.')
    .option('--routes <file>', 'route table, when there is one', env['ROUTES_FILE'] ?? 'router/routes.yaml')
    .option('--json', 'machine-readable output')
    .action(async (only: string | undefined, options: { root: string; routes: string; json?: boolean }) => {
      const root = resolve(options.root);
      const config = loadFicusConfig(root);
      const report = await checkBoundaries(root, {
        moduleRoots: config.boundaries.moduleRoots,
        scanRoots: config.boundaries.scanRoots,
      });
      if (only && !report.modules.some((m) => m.name === only)) {
        throw new FicusError(
          'FICUS_ERR_CONFIG',
          `no module "${only}"; modules are ${report.modules.map((m) => m.name).join(', ')}`,
        );
      }
      const routesFile = join(root, options.routes);
      const routesByService = new Map<string, string[]>();
      if (existsSync(routesFile)) {
        for (const route of loadRouteTable(routesFile, env).routes)
          routesByService.set(route.service, [...(routesByService.get(route.service) ?? []), route.id]);
      }
      const services = discoverServices(root);
      const ranking = assessReadiness(
        report,
        readBaseline(join(root, config.boundaries.baseline)),
        routesByService,
        services,
      );
      for (const entry of ranking) {
        if (entry.service) entry.reasons.splice(1, 0, await dataState(entry.module, root, env));
      }
      out(
        options.json
          ? `${JSON.stringify(only ? ranking.filter((r) => r.module === only) : ranking, null, 2)}\n`
          : formatReadiness(ranking, only),
      );
    });
}
