import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { listFiles } from '../../../platform/src/index.js';

/** The folders of a module that become the service's own code. */
const copiedFolders = ['http', 'internal', 'migrations'] as const;

export interface CopiedFile {
  /** Path in the service, relative to its `src/` folder, e.g. `http/routes.ts`. */
  path: string;
  from: string;
  text: string;
}

const code = /\.(ts|mts|cts|js|mjs|cjs)$/;
const relativeImport = /(\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]+)\2/g;

/**
 * Copies a module's http/, internal/ and migrations/ for its service. Imports inside the module
 * keep their meaning (the folders keep their shape under `src/`); imports of shared code outside
 * it (the platform chassis) are re-pointed from the new place; imports of other modules cannot
 * come along and are returned as blockers, since a service never imports the monolith.
 */
export function copyModuleSources(
  repoRoot: string,
  moduleDir: string,
  serviceSrcDir: string,
  moduleRoots: readonly string[],
  serviceName: string,
): { files: CopiedFile[]; blockers: string[] } {
  const files: CopiedFile[] = [];
  const blockers: string[] = [];
  for (const folder of copiedFolders) {
    for (const from of listFiles(repoRoot, `${moduleDir}/${folder}`, () => true).sort()) {
      const path = from.slice(moduleDir.length + 1);
      const original = readFileSync(join(repoRoot, from), 'utf8');
      if (!code.test(path)) {
        files.push({ path, from, text: original });
        continue;
      }
      const newFile = posix.join(serviceSrcDir, path);
      const text = original.replace(relativeImport, (whole, lead: string, quote: string, specifier: string) => {
        const target = posix.normalize(posix.join(posix.dirname(from), specifier));
        if (target.startsWith(`${moduleDir}/`)) return whole;
        if (moduleRoots.some((root) => target.startsWith(`${root.replace(/\/+$/, '')}/`))) {
          blockers.push(`${from} imports ${target}, another module: call it through its API before extracting`);
          return whole;
        }
        let rebased = posix.relative(posix.dirname(newFile), target);
        if (!rebased.startsWith('.')) rebased = `./${rebased}`;
        return `${lead}${quote}${rebased}${quote}`;
      });
      const header = `// Copied by ficus extract from ${from}; the ${serviceName} service owns this file now.\n`;
      files.push({ path, from, text: header + text });
    }
  }
  return { files, blockers };
}
