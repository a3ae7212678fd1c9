import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { FicusError, moduleManifestSchema, parseValidated, type ModuleManifest } from '../../../platform/src/index.js';

/** A bounded context found by its manifest. */
export interface BoundedModule extends ModuleManifest {
  /** Folder relative to the repository root, with / separators, e.g. `monolith/src/modules/orders`. */
  dir: string;
  /** The module's only public file, relative to the root. */
  entry: string;
}

/** Where modules live: folders holding a `module.json`, e.g. `monolith/src/modules`. */
export const defaultModuleRoots = ['monolith/src/modules'];

/** Finds every `<root>/<name>/module.json` and validates it; errors name the file and field. */
export function discoverModules(
  repoRoot: string,
  moduleRoots: readonly string[] = defaultModuleRoots,
): BoundedModule[] {
  const modules: BoundedModule[] = [];
  for (const moduleRoot of moduleRoots) {
    const absolute = join(repoRoot, moduleRoot);
    if (!existsSync(absolute)) continue;
    for (const entry of readdirSync(absolute, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const dir = posix.join(moduleRoot.replaceAll('\\', '/'), entry.name);
      const manifestFile = join(repoRoot, dir, 'module.json');
      if (!existsSync(manifestFile)) continue;
      const manifest = parseValidated(readFileSync(manifestFile, 'utf8'), `${dir}/module.json`, moduleManifestSchema, {
        code: 'FICUS_ERR_MODULE_MANIFEST',
        expected: 'a valid module manifest',
      });
      if (manifest.name !== entry.name) {
        throw new FicusError(
          'FICUS_ERR_MODULE_MANIFEST',
          `${dir}/module.json: name "${manifest.name}" must match its folder "${entry.name}"`,
        );
      }
      const entryFile = ['index.ts', 'index.js', 'index.mjs']
        .map((f) => `${dir}/${f}`)
        .find((f) => existsSync(join(repoRoot, f)));
      modules.push({ ...manifest, dir, entry: entryFile ?? `${dir}/index.ts` });
    }
  }
  const names = new Set(modules.map((m) => m.name));
  for (const module of modules) {
    const unknown = module.dependsOn.filter((d) => !names.has(d));
    if (unknown.length) {
      throw new FicusError(
        'FICUS_ERR_MODULE_MANIFEST',
        `${module.dir}/module.json: dependsOn names ${unknown.join(', ')}, which no module.json declares; modules are ${[...names].join(', ')}`,
      );
    }
  }
  return modules.sort((a, b) => a.name.localeCompare(b.name));
}
