import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cruise, type ICruiseResult, type IForbiddenRuleType } from 'dependency-cruiser';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { FicusError, listFiles } from '../../../platform/src/index.js';
import { ficusVersion } from '../ficus-package.js';
import { cyclesThrough, site, type CycleStep, type ModuleImport } from './cycles.js';
import { findForeignSchemaReferences } from './data-ownership.js';
import { discoverModules, type BoundedModule } from './modules.js';
import { boundaryRules } from './rules.js';

/** Folders the check reads; tests, benchmarks and fixtures may import anything. */
export const defaultScanRoots = ['platform', 'monolith', 'services', 'router', 'tools'];

export interface BoundaryViolation {
  rule: string;
  /** Why the rule exists, from its comment. */
  why: string;
  from: string;
  to: string;
  /** 1-based line of the import in `from`, when it could be found. */
  line: number | undefined;
  /** The module `from` belongs to, or its top folder. */
  owner: string;
  /** For module-no-cycles: the modules around the cycle from this one, each with the import that leads on. */
  cycle?: CycleStep[];
}

/** Imports from one module into another, with where they happen. */
interface ModuleEdge {
  from: string;
  to: string;
  /** Import sites, `file:line`: each in-process call that becomes a network call or an event after extraction. */
  sites: string[];
  /** Whether any of these imports breaks a rule. */
  violating: boolean;
}

export interface BoundaryReport {
  modules: BoundedModule[];
  violations: BoundaryViolation[];
  edges: ModuleEdge[];
  /** Files cruised. */
  files: number;
}

/**
 * dependency-cruiser reports no line numbers: finds the import of `to` in `from`. Each file is
 * read once per check, however many of its imports are looked up.
 */
function importLines(repoRoot: string): (from: string, unresolvedTo: string | undefined) => number | undefined {
  const files = new Map<string, string[]>();
  return (from, unresolvedTo) => {
    if (!unresolvedTo) return undefined;
    let lines = files.get(from);
    if (!lines) {
      try {
        lines = readFileSync(join(repoRoot, from), 'utf8').split('\n');
      } catch {
        lines = [];
      }
      files.set(from, lines);
    }
    const index = lines.findIndex((line) => line.includes(`'${unresolvedTo}'`) || line.includes(`"${unresolvedTo}"`));
    return index === -1 ? undefined : index + 1;
  };
}

/** Rules dependency-cruiser would check with its per-file cycle search; ficus checks them on the module graph (cycles.ts). */
const isCycleRule = (rule: IForbiddenRuleType) => 'to' in rule && 'circular' in rule.to;

const asList = (value: string | string[] | undefined) =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** Several rules share a name (one per module root or module): find the one whose `from` matches. */
function fromMatches(rule: IForbiddenRuleType, file: string): boolean {
  const from = rule.from as { path?: string | string[]; pathNot?: string | string[] };
  const paths = asList(from.path);
  return (
    (paths.length === 0 || paths.some((p) => new RegExp(p).test(file))) &&
    !asList(from.pathNot).some((p) => new RegExp(p).test(file))
  );
}

async function cruiseBoundaries(
  repoRoot: string,
  options: {
    moduleRoots?: readonly string[];
    scanRoots?: readonly string[];
    /** Keep the last report here and reuse it while no scanned file changed; none when omitted. */
    cacheFolder?: string;
  } = {},
): Promise<BoundaryReport> {
  const modules = discoverModules(repoRoot, options.moduleRoots);
  const rules = boundaryRules(modules);
  const forbidden = rules.filter((rule) => !isCycleRule(rule));
  const scan = (options.scanRoots ?? defaultScanRoots).filter((root) => existsSync(join(repoRoot, root)));
  const tsConfigFile = join(repoRoot, 'tsconfig.json');
  let result: ICruiseResult;
  try {
    const output = await cruise(
      scan,
      {
        validate: true,
        // Paths are resolved and reported relative to baseDir, so the check never changes the process's working directory.
        baseDir: repoRoot,
        ruleSet: { forbidden },
        doNotFollow: { path: 'node_modules' },
        exclude: { path: ['node_modules', '\\.data/'] },
        tsPreCompilationDeps: true,
        ...(existsSync(tsConfigFile) ? { tsConfig: { fileName: tsConfigFile } } : {}),
        combinedDependencies: false,
        skipAnalysisNotInRules: true,
      },
      { extensions: ['.ts', '.mts', '.js', '.mjs', '.json'] },
      existsSync(tsConfigFile) ? { tsConfig: extractTSConfig(tsConfigFile) } : {},
    );
    result = output.output as ICruiseResult;
  } catch (error) {
    throw new FicusError(
      'FICUS_ERR_CONFIG',
      `dependency-cruiser could not read ${repoRoot}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const lineOf = importLines(repoRoot);
  const moduleOf = (file: string) => modules.find((m) => file.startsWith(`${m.dir}/`))?.name;
  const violations: BoundaryViolation[] = (result.summary.violations ?? []).map((violation) => {
    const dependency = result.modules
      .find((m) => m.source === violation.from)
      ?.dependencies.find((d) => d.resolved === violation.to);
    const rule = forbidden.find((r) => r.name === violation.rule.name && fromMatches(r, violation.from));
    return {
      rule: violation.rule.name,
      why: rule?.comment ?? '',
      from: violation.from,
      to: violation.to,
      line: lineOf(violation.from, dependency?.module),
      // The module it belongs to, or its top folder.
      owner: moduleOf(violation.from) ?? violation.from.split('/')[0]!,
    };
  });
  const imports: ModuleImport[] = [];
  for (const source of result.modules) {
    const fromModule = moduleOf(source.source);
    if (!fromModule) continue;
    for (const dependency of source.dependencies) {
      const toModule = moduleOf(dependency.resolved);
      // Type-only imports count too: with dependency injection (as in the starter) the calls go
      // through an injected API whose type is all the caller imports.
      if (!toModule || toModule === fromModule) continue;
      imports.push({
        fromModule,
        toModule,
        from: source.source,
        to: dependency.resolved,
        line: lineOf(source.source, dependency.module),
      });
    }
  }
  const cycleRule = rules.find(isCycleRule);
  if (cycleRule) {
    for (const { import: i, cycle } of cyclesThrough(imports)) {
      violations.push({
        rule: cycleRule.name!,
        why: cycleRule.comment ?? '',
        from: i.from,
        to: i.to,
        line: i.line,
        owner: i.fromModule,
        cycle,
      });
    }
  }
  violations.push(...findForeignSchemaReferences(repoRoot, modules));
  const violating = new Set(violations.map((v) => `${v.from}\u0000${v.to}`));
  const edges = new Map<string, ModuleEdge>();
  for (const i of imports) {
    const key = `${i.fromModule}\u0000${i.toModule}`;
    let edge = edges.get(key);
    if (!edge) edges.set(key, (edge = { from: i.fromModule, to: i.toModule, sites: [], violating: false }));
    edge.sites.push(site(i));
    if (violating.has(`${i.from}\u0000${i.to}`)) edge.violating = true;
  }
  return {
    modules,
    violations,
    edges: [...edges.values()].sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to)),
    files: result.summary.totalCruised,
  };
}

const scanned = /\.(ts|mts|cts|js|mjs|cjs|json|sql)$/;

const versionOf = (packageJson: URL) => (JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version;

/** The versions whose rules and reading a cached report was made with: ficus's and dependency-cruiser's. */
const toolVersions = {
  ficus: ficusVersion,
  dependencyCruiser: versionOf(new URL('../../package.json', import.meta.resolve('dependency-cruiser'))),
};

/** A digest of everything a report depends on: the scanned files' contents, the options, the tool versions. */
function reportKey(repoRoot: string, scanRoots: readonly string[], options: object): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ options, format: 2, toolVersions }));
  const files: string[] = ['tsconfig.json', 'ficus.config.json'];
  for (const root of scanRoots) listFiles(repoRoot, root, (name) => scanned.test(name), files);
  for (const file of files.sort()) {
    hash.update(file);
    try {
      hash.update(readFileSync(join(repoRoot, file)));
    } catch {
      hash.update('-');
    }
  }
  return hash.digest('hex');
}

/**
 * Runs the boundary rules over the repository with dependency-cruiser's API. With a cache
 * folder, the last report is reused while no scanned file changed (a content digest decides).
 */
export async function checkBoundaries(
  repoRoot: string,
  options: { moduleRoots?: readonly string[]; scanRoots?: readonly string[]; cacheFolder?: string } = {},
): Promise<BoundaryReport> {
  if (!options.cacheFolder) return cruiseBoundaries(repoRoot, options);
  const key = reportKey(repoRoot, options.scanRoots ?? defaultScanRoots, {
    moduleRoots: options.moduleRoots ?? null,
    scanRoots: options.scanRoots ?? null,
  });
  const file = join(options.cacheFolder, 'boundaries-report.json');
  try {
    const cached = JSON.parse(readFileSync(file, 'utf8')) as { key: string; report: BoundaryReport };
    if (cached.key === key) return cached.report;
  } catch {
    // No usable cache: cruise.
  }
  const report = await cruiseBoundaries(repoRoot, options);
  mkdirSync(options.cacheFolder, { recursive: true });
  writeFileSync(file, JSON.stringify({ key, report }));
  return report;
}
