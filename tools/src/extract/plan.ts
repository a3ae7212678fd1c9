import { existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { FicusError, listFiles } from '../../../platform/src/index.js';
import { readBaseline } from '../boundaries/baseline.js';
import { checkBoundaries } from '../boundaries/check.js';
import { loadFicusConfig } from '../boundaries/config.js';
import { FileFlagStore } from '../flags/flag-store.js';
import { assessReadiness } from '../readiness/assess.js';
import { discoverServices, type ServiceManifest } from '../services/manifest.js';
import { copyModuleSources } from './copy-sources.js';
import { findModuleApi, withIdempotencyMigration } from './find-api.js';
import { findRoutes, proposeRoutes, type ProposedRoute } from './find-routes.js';
import { appFile, configFile, contractCases, factoryArguments, manifestFile, serverFile } from './templates.js';
import { wireBuildConfig, wireCompose, wireDockerfile, wireRouteTable, type Edit } from './wiring.js';

/** One file `ficus extract` writes: new in the service, or an existing file it edits. */
interface PlannedFile {
  path: string;
  text: string;
  /** For an edited file, what changed; for a new one, what it is. */
  changes: string[];
  isNew: boolean;
}

export interface ExtractionPlan {
  service: ServiceManifest;
  files: PlannedFile[];
  routes: ProposedRoute[];
  /** Flags to create at stage monolith in the local flags file, when it is missing them. */
  flagsFile: string;
  flags: Array<{ flag: string; routeId: string }>;
  /** Blockers that `--force` let through. */
  forced: string[];
}

export interface ExtractOptions {
  port?: number;
  force?: boolean;
  /** Fills the route table's `${NAME}` variables when the edited table is validated. */
  env?: Record<string, string | undefined>;
}

const fail = (message: string) => new FicusError('FICUS_ERR_EXTRACT', message);
const firstPort = 3101;
const codeFile = /\.(ts|mts|cts|js|mjs)$/;

/** The serve toggles of new routes that the local flags file does not have yet. */
async function missingFlags(file: string, routes: readonly ProposedRoute[]): Promise<ExtractionPlan['flags']> {
  const store = new FileFlagStore(file);
  const missing: ExtractionPlan['flags'] = [];
  for (const route of routes) {
    if (!route.flag && !(await store.get(`ficus.${route.id}`)))
      missing.push({ flag: `ficus.${route.id}`, routeId: route.id });
  }
  return missing;
}

/** The platform import for files directly in `services/<name>/src/`: a package name, or a path made relative. */
function platformImport(root: string, configured: string | undefined, serviceSrc: string): string {
  const target =
    configured ?? (existsSync(join(root, 'platform/src/index.ts')) ? 'platform/src/index.ts' : 'ficus/platform');
  if (!/\.[cm]?[jt]s$/.test(target)) return target;
  return posix.relative(serviceSrc, target).replace(/\.([cm]?)ts$/, '.$1js');
}

/**
 * Works out everything `ficus extract <module>` would write, without writing: the service's
 * files, the route table, compose and build edits, the flags to create. Refuses (FICUS_ERR_EXTRACT)
 * an unknown module, an existing service, and, unless forced, a module with blockers.
 */
export async function planExtraction(
  root: string,
  name: string,
  options: ExtractOptions = {},
): Promise<ExtractionPlan> {
  const config = loadFicusConfig(root);
  const report = await checkBoundaries(root, {
    moduleRoots: config.boundaries.moduleRoots,
    scanRoots: config.boundaries.scanRoots,
  });
  const module = report.modules.find((m) => m.name === name);
  if (!module) {
    const known = report.modules.map((m) => m.name).join(', ') || 'none';
    throw fail(
      `no module "${name}" under ${config.boundaries.moduleRoots.join(', ')} (modules: ${known}); ` +
        'a module is a folder with a module.json (set other folders in ficus.config.json, boundaries.moduleRoots)',
    );
  }
  const services = discoverServices(root);
  const dir = `services/${name}`;
  if (existsSync(join(root, dir))) {
    throw fail(`${dir} exists already: ficus extract never overwrites a service; remove ${dir} to extract it again`);
  }
  const blockers: string[] = [];
  const readiness = assessReadiness(report, readBaseline(join(root, config.boundaries.baseline)), new Map()).find(
    (r) => r.module === name,
  )!;
  if (readiness.cycleWith.length) blockers.push(`it is in a dependency cycle with ${readiness.cycleWith.join(', ')}`);
  for (const reference of readiness.tableReferences)
    blockers.push(`a reference to another module's tables: ${reference}`);

  const httpFiles = listFiles(root, `${module.dir}/http`, (f) => codeFile.test(f)).sort();
  const found = findRoutes(
    httpFiles.map((file) => ({
      file: file.slice(module.dir.length + 1),
      text: readFileSync(join(root, file), 'utf8'),
    })),
  );
  const factory = found.factories[0];
  if (!factory || found.routes.length === 0) {
    throw fail(
      `${module.dir}/http has no exported function returning an express Router with routes on literal paths ` +
        `(e.g. export function ${name}Routes(db: Knex): Router { router.get('/items', ...) }); ficus extract needs one`,
    );
  }
  const unknown = factory.params.filter((p) => !(p.type in factoryArguments));
  for (const param of unknown) {
    blockers.push(
      `${module.dir}/${factory.file}: ${factory.name}'s parameter ${param.name}: ${param.type} ` +
        `(a service can give ${Object.keys(factoryArguments).join(', ')}; wire the rest in services/${name}/src/app.ts)`,
    );
  }
  const src = `${dir}/src`;
  const copied = copyModuleSources(root, module.dir, src, config.boundaries.moduleRoots, name);
  blockers.push(...copied.blockers);
  const indexFile = join(root, module.dir, 'index.ts');
  const api = findModuleApi(existsSync(indexFile) ? readFileSync(indexFile, 'utf8') : '', copied.files);
  const platform = platformImport(root, config.extract.platform, src);
  if (api) {
    if (!api.factory) {
      blockers.push(
        `${module.dir}/${api.file} declares ${api.spec} but no exported function returning ${api.type} ` +
          `(e.g. export function ${name}Api(db: Knex): ${api.type}); the service needs one to serve the API`,
      );
    }
    const index = copied.files.find((f) => f.path === 'migrations/index.ts');
    const migrationsText = index && withIdempotencyMigration(index.text, platform);
    if (index && migrationsText) index.text = migrationsText;
    else {
      blockers.push(
        `${module.dir}/migrations/index.ts has no \`export const migrations = [...]\`: ` +
          `add apiIdempotencyMigration to services/${name}/src/migrations/index.ts by hand`,
      );
    }
  }
  if (blockers.length && !options.force) {
    throw fail(
      `${name} is not ready to extract:\n${blockers.map((b) => `  - ${b}`).join('\n')}\n` +
        'fix these first (npx ficus readiness explains them), or run again with --force to extract anyway',
    );
  }
  const taken = new Set(services.map((s) => s.port));
  let port = options.port ?? firstPort;
  while (options.port === undefined && taken.has(port)) port++;
  if (options.port !== undefined && taken.has(port)) {
    throw fail(`port ${port} is taken by ${services.find((s) => s.port === port)!.name}; pick another with --port`);
  }
  const service: ServiceManifest = {
    name,
    module: name,
    schema: module.schema,
    port,
    from: module.dir,
    mountPath: config.extract.mountPath,
  };
  const input = { manifest: service, platform, factory, routes: found.routes, api };
  const routes = proposeRoutes(name, service.mountPath, found.routes);
  const files: PlannedFile[] = [
    ...copied.files.map((f) => ({ path: `${src}/${f.path}`, text: f.text, changes: [`from ${f.from}`], isNew: true })),
    { path: `${src}/config.ts`, text: configFile(input), changes: ['its environment, validated'], isNew: true },
    { path: `${src}/app.ts`, text: appFile(input), changes: ['its routes on the platform chassis'], isNew: true },
    { path: `${src}/server.ts`, text: serverFile(input), changes: ['its process entry point'], isNew: true },
    { path: `${dir}/service.json`, text: manifestFile(service), changes: ['its manifest'], isNew: true },
    {
      path: `${dir}/contract/cases.json`,
      text: contractCases(input),
      changes: ['contract cases for the module and the service'],
      isNew: true,
    },
  ];
  const edit = (path: string, make: (text: string) => Edit, create?: string) => {
    const exists = existsSync(join(root, path));
    if (!exists && create === undefined) return;
    const result = make(exists ? readFileSync(join(root, path), 'utf8') : create!);
    if (result.changes.length) files.push({ path, text: result.text, changes: result.changes, isNew: !exists });
  };
  const emptyTable =
    'version: 1\n\nupstreams:\n  monolith:\n    url: ${MONOLITH_URL:-http://127.0.0.1:3000}\n\ndefaultUpstream: monolith\n\nroutes: []\n';
  edit(
    config.extract.routesFile,
    (text) => wireRouteTable(text, config.extract.routesFile, service, routes, options.env ?? {}),
    emptyTable,
  );
  edit('docker-compose.yml', (text) =>
    wireCompose(text, 'docker-compose.yml', service, `dist/${src}/server.js`, { api: api?.factory !== undefined }),
  );
  edit('Dockerfile', wireDockerfile);
  edit('tsconfig.build.json', wireBuildConfig);
  return {
    service,
    files,
    routes,
    flagsFile: config.extract.flagsFile,
    flags: await missingFlags(join(root, config.extract.flagsFile), routes),
    forced: blockers,
  };
}
