import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkBoundaries } from '../../../tools/src/boundaries/check.js';
import { dependencyCruiserConfig } from '../../../tools/src/commands/boundaries.js';
import { repoRoot, spawnNode } from '../../kit/processes.js';

const made: string[] = [];
afterAll(() => Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true }))));

/** A repository made of `files` (path → content) in a temporary folder. */
async function fixture(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'ficus-boundaries-'));
  made.push(root);
  const all = {
    'tsconfig.json': JSON.stringify({
      compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true },
    }),
    ...files,
  };
  for (const [path, content] of Object.entries(all)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
  return root;
}

const manifest = (name: string, dependsOn: string[] = []) =>
  JSON.stringify({ name, schema: name.replaceAll('-', '_'), dependsOn });

describe('ficus boundaries', () => {
  it('finds no violation in this repository, and the committed .dependency-cruiser.mjs is current', async () => {
    const report = await checkBoundaries(repoRoot);
    expect(report.modules.map((m) => m.name)).toEqual(['catalog', 'orders', 'payments', 'users']);
    expect(report.violations).toEqual([]);
    expect(await readFile(join(repoRoot, '.dependency-cruiser.mjs'), 'utf8')).toBe(dependencyCruiserConfig(repoRoot));
  });

  it("fails the check when orders imports catalog's internals, naming both files and the rule", async () => {
    const root = await mkdtemp(join(tmpdir(), 'ficus-starter-'));
    made.push(root);
    for (const part of ['platform', 'monolith', 'tsconfig.json'])
      await cp(join(repoRoot, part), join(root, part), { recursive: true });
    await writeFile(
      join(root, 'monolith/src/modules/orders/internal/peek.ts'),
      "import { listProducts } from '../../catalog/internal/products.js';\nexport const peek = listProducts;\n",
    );
    const proc = spawnNode([join(repoRoot, 'tools/bin/ficus.mjs'), 'boundaries', '--root', root], {});
    expect(await proc.exited).toBe(1);
    expect(proc.output()).toContain(
      'monolith/src/modules/orders/internal/peek.ts:1 → monolith/src/modules/catalog/internal/products.ts',
    );
    expect(proc.output()).toContain("module-internals-private: A module's index.ts is its only public surface");
  });

  it('reports a dependency the manifest does not declare', async () => {
    const root = await fixture({
      'monolith/src/modules/billing/module.json': manifest('billing'),
      'monolith/src/modules/billing/index.ts':
        "import { ship } from '../shipping/index.js';\nexport const bill = ship;\n",
      'monolith/src/modules/shipping/module.json': manifest('shipping'),
      'monolith/src/modules/shipping/index.ts': 'export const ship = 1;\n',
    });
    const { violations } = await checkBoundaries(root);
    expect(violations).toEqual([
      expect.objectContaining({
        rule: 'module-undeclared-dependency',
        from: 'monolith/src/modules/billing/index.ts',
        to: 'monolith/src/modules/shipping/index.ts',
        line: 1,
        owner: 'billing',
      }),
    ]);
    expect(violations[0]!.why).toContain('billing may use only the modules its module.json declares (none)');
  });

  it('prints the path of a cycle between modules, and plain depcruise with the written config finds it too', async () => {
    const root = await fixture({
      'monolith/src/modules/billing/module.json': manifest('billing', ['shipping']),
      'monolith/src/modules/billing/index.ts':
        "import { ship } from '../shipping/index.js';\nexport const bill = () => ship;\n",
      'monolith/src/modules/shipping/module.json': manifest('shipping', ['billing']),
      'monolith/src/modules/shipping/index.ts':
        "import { bill } from '../billing/index.js';\nexport const ship = () => bill;\n",
    });
    const proc = spawnNode([join(repoRoot, 'tools/bin/ficus.mjs'), 'boundaries', '--root', root, '--write-config'], {});
    expect(await proc.exited).toBe(1);
    expect(proc.output()).toContain('module-no-cycles');
    expect(proc.output()).toContain(
      'cycle: billing (monolith/src/modules/billing/index.ts:1) → shipping (monolith/src/modules/shipping/index.ts:1) → billing',
    );
    const depcruise = spawnNode(
      [
        join(repoRoot, 'node_modules/dependency-cruiser/bin/dependency-cruiser.mjs'),
        '--config',
        '.dependency-cruiser.mjs',
        '--output-type',
        'json',
        'monolith',
      ],
      {},
      root,
    );
    await depcruise.exited;
    const plain = JSON.parse(depcruise.output()) as {
      summary: { violations: Array<{ rule: { name: string }; from: string }> };
    };
    // dependency-cruiser's summary lists each cycle once.
    expect(plain.summary.violations.map((v) => v.rule.name)).toEqual(['module-no-cycles']);
  });

  it('counts a cycle between modules that no chain of files closes, and not a cycle of files inside one module', async () => {
    const root = await fixture({
      'monolith/src/modules/billing/module.json': manifest('billing', ['shipping']),
      'monolith/src/modules/billing/index.ts': "export { invoice } from './internal/invoice.js';\n",
      'monolith/src/modules/billing/internal/invoice.ts':
        "import { ship } from '../../shipping/index.js';\nexport const invoice = () => ship;\n",
      'monolith/src/modules/billing/internal/tax.ts':
        "import { round } from './round.js';\nexport const tax = () => round;\n",
      'monolith/src/modules/billing/internal/round.ts':
        "import { tax } from './tax.js';\nexport const round = () => tax;\n",
      'monolith/src/modules/shipping/module.json': manifest('shipping', ['billing']),
      'monolith/src/modules/shipping/index.ts': 'export const ship = 1;\n',
      'monolith/src/modules/shipping/internal/label.ts':
        "import type { invoice } from '../../billing/index.js';\nexport type Label = typeof invoice;\n",
    });
    const report = await checkBoundaries(root);
    expect(report.violations.map((v) => `${v.rule} ${v.from} → ${v.to}`).sort()).toEqual([
      'module-no-cycles monolith/src/modules/billing/internal/invoice.ts → monolith/src/modules/shipping/index.ts',
      'module-no-cycles monolith/src/modules/shipping/internal/label.ts → monolith/src/modules/billing/index.ts',
    ]);
    expect(report.violations.find((v) => v.owner === 'shipping')!.cycle).toEqual([
      { module: 'shipping', via: 'monolith/src/modules/shipping/internal/label.ts:1' },
      { module: 'billing', via: 'monolith/src/modules/billing/internal/invoice.ts:1' },
    ]);
  });

  it('checks a src/domains/* layout configured in ficus.config.json, and the layering rules', async () => {
    const root = await fixture({
      'ficus.config.json': JSON.stringify({
        boundaries: { moduleRoots: ['src/domains'], scanRoots: ['src', 'services', 'platform'] },
      }),
      'src/domains/billing/module.json': manifest('billing'),
      'src/domains/billing/index.ts': 'export const bill = 1;\n',
      'src/domains/billing/internal/rates.ts': 'export const rate = 2;\n',
      'src/domains/shipping/module.json': manifest('shipping', ['billing']),
      'src/domains/shipping/index.ts':
        "import { rate } from '../billing/internal/rates.js';\nexport const ship = rate;\n",
      'services/invoices/server.ts':
        "import { bill } from '../../src/domains/billing/index.js';\nexport const s = bill;\n",
      'platform/log.ts': "import { ship } from '../src/domains/shipping/index.js';\nexport const l = ship;\n",
    });
    const proc = spawnNode([join(repoRoot, 'tools/bin/ficus.mjs'), 'boundaries', '--root', root, '--json'], {});
    expect(await proc.exited).toBe(1);
    const report = JSON.parse(proc.output()) as { violations: Array<{ rule: string; from: string }> };
    expect(report.violations.map((v) => `${v.rule} ${v.from}`).sort()).toEqual([
      'module-internals-private src/domains/shipping/index.ts',
      'platform-imports-no-module platform/log.ts',
      'services-not-to-monolith services/invoices/server.ts',
    ]);
  });

  it('reports SQL and knex references to another module’s schema with file and line, not code that merely shares a name', async () => {
    const root = await fixture({
      'monolith/src/modules/catalog/module.json': manifest('catalog'),
      'monolith/src/modules/catalog/index.ts': 'export const catalog = { reserve() {} };\n',
      'monolith/src/modules/orders/module.json': manifest('orders', ['catalog']),
      'monolith/src/modules/orders/index.ts': [
        "import { catalog } from '../catalog/index.js';",
        'export const viaApi = () => catalog.reserve();',
        "export const viaKnex = (db: any) => db('catalog.products').select('id');",
        'export const viaSql = (db: any) => db.raw(`select * from catalog.stock_levels where id = ?`, [1]);',
        "export const viaSchema = (db: any) => db.withSchema('catalog').table('products');",
        "export const own = (db: any) => db('orders.orders');",
        'export const multiLine = (db: any) => db.raw(`',
        '  select id',
        '  from catalog.reservations`);',
      ].join('\n'),
      'monolith/src/modules/orders/migrations/001.sql': 'create view x as select * from catalog.products;\n',
    });
    const { violations } = await checkBoundaries(root);
    expect(violations.map((v) => `${v.rule} ${v.from}:${v.line}`).sort()).toEqual([
      'module-data-ownership monolith/src/modules/orders/index.ts:3',
      'module-data-ownership monolith/src/modules/orders/index.ts:4',
      'module-data-ownership monolith/src/modules/orders/index.ts:5',
      'module-data-ownership monolith/src/modules/orders/index.ts:9',
      'module-data-ownership monolith/src/modules/orders/migrations/001.sql:1',
    ]);
    expect(violations[0]!.why).toContain('schema catalog belongs to catalog');
    expect(violations.map((v) => v.to)).toContain('monolith/src/modules/catalog (catalog.reservations)');
  });

  it('baseline: known violations pass, new ones fail, fixed ones must leave the baseline; entries survive unrelated edits', async () => {
    const root = await fixture({
      'monolith/src/modules/billing/module.json': manifest('billing'),
      'monolith/src/modules/billing/index.ts':
        "import { ship } from '../shipping/index.js';\nexport const bill = ship;\n",
      'monolith/src/modules/shipping/module.json': manifest('shipping'),
      'monolith/src/modules/shipping/index.ts': 'export const ship = 1;\n',
      'monolith/src/modules/shipping/internal/rates.ts': 'export const rate = 1;\n',
    });
    const run = async () => {
      const proc = spawnNode([join(repoRoot, 'tools/bin/ficus.mjs'), 'boundaries', '--root', root], {});
      return { code: await proc.exited, output: proc.output() };
    };
    expect((await run()).code).toBe(1);
    const update = spawnNode(
      [join(repoRoot, 'tools/bin/ficus.mjs'), 'boundaries', '--root', root, '--update-baseline'],
      {},
    );
    expect(await update.exited).toBe(0);
    expect(await readFile(join(root, 'boundaries-baseline.json'), 'utf8')).toContain(
      '"rule": "module-undeclared-dependency"',
    );

    // Known debt passes, also after unrelated lines move the import down.
    await writeFile(
      join(root, 'monolith/src/modules/billing/index.ts'),
      "// a comment\n\nimport { ship } from '../shipping/index.js';\nexport const bill = ship;\n",
    );
    const known = await run();
    expect(known.code).toBe(0);
    expect(known.output).toContain('no new violations (1 known violation in boundaries-baseline.json)');

    // A new violation fails and is told apart from the known one.
    await writeFile(
      join(root, 'monolith/src/modules/billing/extra.ts'),
      "import { rate } from '../shipping/internal/rates.js';\nexport const r = rate;\n",
    );
    const fresh = await run();
    expect(fresh.code).toBe(1);
    expect(fresh.output).toContain('new violation');
    expect(fresh.output).toContain(
      'monolith/src/modules/billing/extra.ts:1 → monolith/src/modules/shipping/internal/rates.ts',
    );
    expect(fresh.output).toContain('1 known violation stay in boundaries-baseline.json');
    await rm(join(root, 'monolith/src/modules/billing/extra.ts'));

    // Fixing the known one makes its baseline entry stale: the check fails until it is removed.
    await writeFile(join(root, 'monolith/src/modules/billing/index.ts'), 'export const bill = 2;\n');
    const stale = await run();
    expect(stale.code).toBe(1);
    expect(stale.output).toContain('1 baseline entry no longer occurs');
    expect(stale.output).toContain(
      'module-undeclared-dependency: monolith/src/modules/billing/index.ts → monolith/src/modules/shipping/index.ts',
    );
  });

  it('writes GitHub annotations, SARIF and a module graph with the violating edge marked', async () => {
    const root = await fixture({
      'monolith/src/modules/billing/module.json': manifest('billing', ['shipping']),
      'monolith/src/modules/billing/index.ts':
        "import { ship } from '../shipping/index.js';\nimport { rate } from '../shipping/internal/rates.js';\nexport const bill = [ship, rate];\n",
      'monolith/src/modules/shipping/module.json': manifest('shipping'),
      'monolith/src/modules/shipping/index.ts': 'export const ship = 1;\n',
      'monolith/src/modules/shipping/internal/rates.ts': 'export const rate = 1;\n',
    });
    const cli = async (...args: string[]) => {
      const proc = spawnNode([join(repoRoot, 'tools/bin/ficus.mjs'), 'boundaries', ...args, '--root', root], {});
      return { code: await proc.exited, output: proc.output() };
    };
    const github = await cli('--format', 'github');
    expect(github.code).toBe(1);
    expect(github.output).toContain(
      '::error file=monolith/src/modules/billing/index.ts,line=2,title=module-internals-private::monolith/src/modules/billing/index.ts imports monolith/src/modules/shipping/internal/rates.ts',
    );
    const sarifLog = JSON.parse((await cli('--format', 'sarif')).output);
    expect(sarifLog.version).toBe('2.1.0');
    expect(sarifLog.runs[0].results).toEqual([
      expect.objectContaining({
        ruleId: 'module-internals-private',
        locations: [
          {
            physicalLocation: {
              artifactLocation: { uri: 'monolith/src/modules/billing/index.ts' },
              region: { startLine: 2 },
            },
          },
        ],
      }),
    ]);
    const mermaid = await cli('graph');
    expect(mermaid.code).toBe(0);
    expect(mermaid.output).toContain('billing -.->|2| shipping');
    expect(mermaid.output).toContain('linkStyle 0 stroke:#d33');
    const dot = await cli('graph', '--format', 'dot');
    expect(dot.output).toContain('"billing" -> "shipping" [label="2", color="#dd3333", style=dashed');
  });

  it('exits 2 naming the file and field of a bad manifest', async () => {
    const root = await fixture({
      'monolith/src/modules/billing/module.json': JSON.stringify({ name: 'Billing', schema: 'billing' }),
    });
    const proc = spawnNode([join(repoRoot, 'tools/bin/ficus.mjs'), 'boundaries', '--root', root], {});
    expect(await proc.exited).toBe(2);
    expect(proc.output()).toContain('monolith/src/modules/billing/module.json is not a valid module manifest');
    expect(proc.output()).toContain('monolith/src/modules/billing/module.json: name: use lower-case letters');
  });
});
