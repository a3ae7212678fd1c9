import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { readValidated } from '../../../platform/src/index.js';
import { defaultScanRoots } from './check.js';
import { defaultModuleRoots } from './modules.js';

const configSchema = z.strictObject({
  boundaries: z
    .strictObject({
      /** Folders whose sub-folders holding a module.json are modules, e.g. `src/domains`. */
      moduleRoots: z.array(z.string().min(1)).min(1).default(defaultModuleRoots),
      /** Folders the check reads. */
      scanRoots: z.array(z.string().min(1)).min(1).default(defaultScanRoots),
      /** Known violations that do not fail the check (written by --update-baseline). */
      baseline: z.string().min(1).default('boundaries-baseline.json'),
    })
    .prefault({}),
  extract: z
    .strictObject({
      /** Where the modules' routes are mounted in the monolith, e.g. `/api/v1`. */
      mountPath: z.string().startsWith('/').default('/api/v1'),
      /**
       * How a service imports the platform chassis: `ficus/platform` (the package), or a path
       * from the repository root (`platform/src/index.ts` in the starter). Found when omitted.
       */
      platform: z.string().min(1).optional(),
      /** The router's route table and local flags file, relative to the root. */
      routesFile: z.string().min(1).default('router/routes.yaml'),
      flagsFile: z.string().min(1).default('router/flags.json'),
    })
    .prefault({}),
});

export type FicusConfig = z.output<typeof configSchema>;

/** `ficus.config.json` at the repository root, if any; defaults fit the starter's layout. */
export function loadFicusConfig(repoRoot: string): FicusConfig {
  const file = join(repoRoot, 'ficus.config.json');
  if (!existsSync(file)) return configSchema.parse({});
  return readValidated(file, configSchema, { code: 'FICUS_ERR_CONFIG', expected: 'a valid ficus configuration' });
}
