import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot, spawnNode } from '../../kit/processes.js';

const made: string[] = [];
afterAll(() => Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true }))));

async function readiness(root: string, ...args: string[]) {
  const proc = spawnNode([join(repoRoot, 'tools/bin/ficus.mjs'), 'readiness', ...args, '--root', root, '--json'], {});
  expect(await proc.exited, proc.output()).toBe(0);
  return JSON.parse(proc.output()) as Array<{
    module: string;
    rank: number;
    reasons: string[];
    fanIn: Array<{ module: string; sites: string[] }>;
    cycleWith: string[];
    routes: string[];
  }>;
}

describe('ficus readiness', () => {
  it('ranks the starter’s modules and explains the ranking with call sites', async () => {
    const ranking = await readiness(repoRoot);
    expect(ranking.map((r) => r.module)).toEqual(['users', 'catalog', 'payments', 'orders']);
    const catalog = ranking.find((r) => r.module === 'catalog')!;
    expect(catalog.routes).toEqual(['catalog-read', 'catalog-write']);
    expect(catalog.reasons[0]).toBe('it is extracted into services/catalog');
    expect(catalog.fanIn).toEqual([
      {
        module: 'orders',
        sites: ['monolith/src/modules/orders/index.ts:9', 'monolith/src/modules/orders/internal/place-order.ts:3'],
      },
    ]);
    expect(catalog.reasons).toContain('the route table already gives it catalog-read, catalog-write');
    expect(ranking.at(-1)!.reasons).toContain(
      'it calls catalog, payments from 5 sites, which would become network calls',
    );
  });

  it('puts modules in a cycle last, naming the cycle', async () => {
    const root = await mkdtemp(join(tmpdir(), 'ficus-readiness-'));
    made.push(root);
    const files: Record<string, string> = {
      'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext' } }),
      'monolith/src/modules/a/module.json': JSON.stringify({ name: 'a', schema: 'a', dependsOn: ['b'] }),
      'monolith/src/modules/a/index.ts': "import { b } from '../b/index.js';\nexport const a = () => b;\n",
      'monolith/src/modules/b/module.json': JSON.stringify({ name: 'b', schema: 'b', dependsOn: ['a'] }),
      'monolith/src/modules/b/index.ts': "import { a } from '../a/index.js';\nexport const b = () => a;\n",
      'monolith/src/modules/c/module.json': JSON.stringify({ name: 'c', schema: 'c', dependsOn: ['a'] }),
      'monolith/src/modules/c/index.ts':
        "import { a } from '../a/index.js';\nimport { b } from '../b/index.js';\nimport { x } from './x.js';\nexport const c = [a, b, x];\n",
      'monolith/src/modules/c/x.ts': 'export const x = 1;\n',
    };
    for (const [path, content] of Object.entries(files)) {
      await mkdir(dirname(join(root, path)), { recursive: true });
      await writeFile(join(root, path), content);
    }
    const ranking = await readiness(root);
    expect(ranking.map((r) => r.module)).toEqual(['c', 'a', 'b']);
    expect(ranking[1]!.reasons[0]).toBe('it is in a dependency cycle with b: break the cycle first');
    const only = await readiness(root, 'b');
    expect(only.map((r) => r.module)).toEqual(['b']);
  });
});

describe('assessReadiness', () => {
  it('counts a baselined reference to a module’s tables as debt of both modules', async () => {
    const { assessReadiness } = await import('../../../tools/src/readiness/assess.js');
    const module = (name: string) => ({
      name,
      schema: name,
      dependsOn: [],
      dir: `monolith/src/modules/${name}`,
      entry: `monolith/src/modules/${name}/index.ts`,
    });
    const report = {
      modules: [module('billing'), module('shipping')],
      violations: [],
      edges: [],
      files: 0,
    } as unknown as Parameters<typeof assessReadiness>[0];
    const baseline = [
      {
        rule: 'module-data-ownership',
        from: 'monolith/src/modules/shipping/internal/repository.ts',
        to: 'monolith/src/modules/billing (billing.rates)',
      },
    ];
    const ranking = assessReadiness(report, baseline, new Map());
    for (const name of ['billing', 'shipping']) {
      expect(ranking.find((r) => r.module === name)!.debt, name).toBe(1);
    }
  });
});
