/**
 * npm run bench:boundaries — times `ficus boundaries` on a generated monolith of 50 modules ×
 * 40 TypeScript files: cold (no cache), warm (the cached report, nothing changed) and one file
 * changed (a full cruise: the report cache is all or nothing).
 * Targets on a 2-core machine: cold ≤ 20 s, warm ≤ 3 s, one file changed ≤ 3 s.
 * Environment: BENCH_MODULES (50), BENCH_FILES (40).
 */
import { mkdir, mkdtemp, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkBoundaries } from '../tools/src/boundaries/check.js';

const moduleCount = Number(process.env['BENCH_MODULES'] ?? 50);
const fileCount = Number(process.env['BENCH_FILES'] ?? 40);

async function generate(root: string): Promise<void> {
  await writeFile(
    join(root, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true } }),
  );
  for (let m = 0; m < moduleCount; m++) {
    const name = `module-${m}`;
    const dir = join(root, 'monolith/src/modules', name);
    await mkdir(join(dir, 'internal'), { recursive: true });
    // Each module may use the two before it: a layered graph with real cross-module imports.
    const dependsOn = [m - 1, m - 2].filter((d) => d >= 0).map((d) => `module-${d}`);
    await writeFile(join(dir, 'module.json'), JSON.stringify({ name, schema: `schema_${m}`, dependsOn }));
    const exports: string[] = [];
    for (let f = 0; f < fileCount - 1; f++) {
      const imports = [
        f > 0 ? `import { value${f - 1} } from './file-${f - 1}.js';` : '',
        f === 0 && dependsOn[0] ? `import { api as upstream } from '../../${dependsOn[0]}/index.js';` : '',
      ].filter(Boolean);
      const body = `export interface Shape${f} { id: string; count: number }\nexport const value${f} = (input: Shape${f}): number => input.count + ${f > 0 ? `value${f - 1}({ id: input.id, count: 1 })` : f === 0 && dependsOn[0] ? 'upstream.length' : '0'};\n`;
      await writeFile(join(dir, 'internal', `file-${f}.ts`), `${imports.join('\n')}\n${body}`);
      exports.push(`export { value${f} } from './internal/file-${f}.js';`);
    }
    await writeFile(join(dir, 'index.ts'), `${exports.join('\n')}\nexport const api = '${name}';\n`);
  }
}

async function time(label: string, run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  const seconds = (performance.now() - started) / 1000;
  console.log(`${label.padEnd(18)} ${seconds.toFixed(2)} s`);
  return seconds;
}

const root = await mkdtemp(join(tmpdir(), 'ficus-bench-boundaries-'));
try {
  await generate(root);
  const cacheFolder = join(root, 'node_modules/.cache/ficus-boundaries');
  console.log(`${moduleCount} modules × ${fileCount} files, node ${process.version}`);
  const cold = await time('cold', () => checkBoundaries(root, { cacheFolder }));
  const warm = await time('warm (cache)', () => checkBoundaries(root, { cacheFolder }));
  // The change adds a violation, so the run shows it was seen, not served from a stale cache.
  await appendFile(
    join(root, 'monolith/src/modules/module-7/internal/file-3.ts'),
    "\nimport { value0 as peek } from '../../module-0/internal/file-0.js';\nexport const changed = peek;\n",
  );
  let report: Awaited<ReturnType<typeof checkBoundaries>> | undefined;
  const changed = await time('one file changed', async () => (report = await checkBoundaries(root, { cacheFolder })));
  const seen = report!.violations.some((v) => v.from === 'monolith/src/modules/module-7/internal/file-3.ts');
  console.log(`the change's new violation ${seen ? 'was reported' : 'was NOT reported (stale cache)'}`);
  console.log(
    `targets: cold ≤ 20 s ${cold <= 20 ? 'met' : 'MISSED'}, warm ≤ 3 s ${warm <= 3 ? 'met' : 'MISSED'}, one file changed ≤ 3 s ${changed <= 3 ? 'met' : 'MISSED'}`,
  );
} finally {
  await rm(root, { recursive: true, force: true });
}
