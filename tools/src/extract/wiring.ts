import {
  isCollection,
  isMap,
  isScalar,
  isSeq,
  parseDocument,
  Scalar,
  type Document,
  type YAMLMap,
  type YAMLSeq,
} from 'yaml';
import { apiTokenVariable, FicusError, serviceTokenVariable } from '../../../platform/src/index.js';
import { parseRouteTable, substituteEnv } from '../../../router/src/route-table/load.js';
import type { ServiceManifest } from '../services/manifest.js';
import { serviceUrlVariable } from '../services/manifest.js';
import type { ProposedRoute } from './find-routes.js';

/** A text file edited by `ficus extract`, with what changed in words (nothing: left as it was). */
export interface Edit {
  text: string;
  changes: string[];
}

/** Writes a sequence or map on one line (`[GET]`, `{ a: 1 }`), as the committed files do; strings quoted if asked. */
function inline(node: unknown, quoted = false): void {
  if (!isCollection(node)) return;
  node.flow = true;
  if (quoted) for (const item of node.items) if (isScalar(item)) item.type = 'QUOTE_DOUBLE';
}

/** The YAML text of a document, in the layout of the committed files: `[GET]` but `{ a: 1 }`. */
export function yamlText(doc: Document): string {
  return doc.toString({ lineWidth: 0 }).replace(/^(\s*(?:- )?[\w-]+: )\[ (.*) \]$/gm, '$1[$2]');
}

export function parseYaml(text: string, file: string): Document {
  const doc = parseDocument(text);
  if (doc.errors.length) {
    throw new FicusError('FICUS_ERR_EXTRACT', `${file} is not valid YAML (${doc.errors[0]!.message}); fix it first`);
  }
  return doc;
}

/**
 * Adds the service's upstream and its read and write routes to the route table, each at stage
 * monolith (a route's stage is its flag) with fallback to the monolith. Entries already there are
 * kept as they are: they may have been tuned. The result is validated as the router would.
 */
export function wireRouteTable(
  text: string,
  file: string,
  service: ServiceManifest,
  routes: readonly ProposedRoute[],
  env: Record<string, string | undefined>,
): Edit {
  const doc = parseYaml(text, file);
  const changes: string[] = [];
  if (!doc.hasIn(['upstreams', service.name])) {
    const upstream = doc.createNode({
      url: `\${${serviceUrlVariable(service.name)}:-http://127.0.0.1:${service.port}}`,
      connectTimeoutMs: 500,
      responseTimeoutMs: 5000,
      maxConcurrent: 256,
      retries: 1,
      breaker: { consecutiveFailures: 5, halfOpenAfterMs: 5000 },
    });
    inline(upstream.get('breaker', true));
    doc.setIn(['upstreams', service.name], upstream);
    changes.push(`upstream ${service.name} (${serviceUrlVariable(service.name)}, default port ${service.port})`);
  }
  if (!isSeq(doc.get('routes'))) doc.set('routes', doc.createNode([]));
  const list = doc.get('routes') as YAMLSeq;
  // `routes: []` in a new table: the entries go one per block, like the committed tables.
  list.flow = false;
  const ids = new Set(list.items.map((item) => (isMap(item) ? String(item.get('id')) : '')));
  for (const route of routes) {
    if (ids.has(route.id)) continue;
    const node = doc.createNode({
      id: route.id,
      match: { path: route.path, methods: route.methods },
      service: service.name,
      ...(route.flag ? { flag: route.flag } : {}),
      fallback: 'monolith',
      ...(route.kind === 'read' ? { stickiness: 'userId' } : {}),
    });
    inline(node.getIn(['match', 'methods'], true));
    node.commentBefore =
      route.kind === 'read'
        ? ` Reads of ${service.module}, found in its express router by ficus extract.`
        : ` Writes of ${service.module}: they move with the data (ficus data cutover), after the reads.`;
    node.spaceBefore = list.items.length > 0;
    list.add(node);
    changes.push(`route ${route.id}: ${route.methods.join(', ')} ${route.path} → ${service.name}, fallback monolith`);
  }
  const result = yamlText(doc);
  parseRouteTable(substituteEnv(result, env, file), file);
  return { text: result, changes };
}

/**
 * Adds the service to the compose file the way the monolith is wired: the same image, its own
 * database on the compose PostgreSQL (created by the migrate job), and its URL given to the router.
 * A service that serves its module's API (`api`) gets its token from `<NAME>_API_TOKEN`, required,
 * as its production config requires it; the caller's side is wired with the caller's config.
 */
export function wireCompose(
  text: string,
  file: string,
  service: ServiceManifest,
  entry: string,
  options: { api?: boolean } = {},
): Edit {
  const doc = parseYaml(text, file);
  const changes: string[] = [];
  if (!doc.hasIn(['services', service.name])) {
    const database = `ficus_${service.schema}`;
    const role = `ficus_${service.schema}`;
    const node = doc.createNode({
      build: '.',
      command: ['node', entry],
      environment: {
        NODE_ENV: 'production',
        HOST: '0.0.0.0',
        PORT: String(service.port),
        LOG_LEVEL: 'info',
        DATABASE_URL: `postgres://${role}:\${DB_ROLE_PASSWORD:?set DB_ROLE_PASSWORD}@postgres:5432/${database}`,
        JWT_SECRET: '${JWT_SECRET:?set JWT_SECRET (32+ characters)}',
        ...(options.api ? { [serviceTokenVariable]: apiTokenReference(service.name) } : {}),
        SHUTDOWN_TIMEOUT_MS: '10000',
      },
      stop_grace_period: '15s',
      healthcheck: {
        test: [
          'CMD',
          'node',
          '-e',
          `fetch('http://127.0.0.1:${service.port}/readyz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))`,
        ],
        interval: '5s',
        timeout: '3s',
        retries: 10,
      },
      depends_on: { migrate: { condition: 'service_completed_successfully' } },
    }) as YAMLMap;
    inline(node.get('command', true), true);
    inline(node.getIn(['healthcheck', 'test'], true), true);
    const key = new Scalar(service.name);
    key.commentBefore = ` The ${service.name} service, extracted from ${service.from} by ficus extract: its own database.`;
    key.spaceBefore = true;
    const services = doc.get('services') as YAMLMap;
    // Before the router, which depends on it.
    const at = services.items.findIndex((pair) => isScalar(pair.key) && pair.key.value === 'router');
    const pair = doc.createPair(key, node);
    if (at === -1) services.items.push(pair);
    else services.items.splice(at, 0, pair);
    changes.push(`service ${service.name} (${entry}, database ${database})`);
  }
  const variable = serviceUrlVariable(service.name);
  if (doc.hasIn(['services', 'router', 'environment']) && !doc.hasIn(['services', 'router', 'environment', variable])) {
    doc.setIn(['services', 'router', 'environment', variable], `http://${service.name}:${service.port}`);
    changes.push(`router environment ${variable}`);
  }
  if (
    doc.hasIn(['services', 'router', 'depends_on']) &&
    !doc.hasIn(['services', 'router', 'depends_on', service.name])
  ) {
    doc.setIn(['services', 'router', 'depends_on', service.name], doc.createNode({ condition: 'service_started' }));
    changes.push(`router depends on ${service.name}`);
  }
  return { text: yamlText(doc), changes };
}

/** The compose variable both sides of an API read its token from, required where it is used. */
function apiTokenReference(name: string): string {
  const variable = apiTokenVariable(name);
  return `\${${variable}:?set ${variable} (32+ characters, the same for the service and its callers)}`;
}

/**
 * Copies `services/` into the image's build stage, next to the monolith, and the built stage's
 * services folder (manifests: `ficus db migrate` finds the services by them) into the runtime
 * stage, once for every service.
 */
export function wireDockerfile(text: string): Edit {
  const changes: string[] = [];
  let result = text;
  const monolith = /^COPY\s+monolith\s+\S+[ \t]*$/m;
  if (!/^COPY\s+services\s/m.test(result) && monolith.test(result)) {
    result = result.replace(monolith, (line) => `${line}\nCOPY services ./services`);
    changes.push('COPY services into the build stage');
  }
  const dist = /^COPY\s+--from=build\s+\/app\/dist\s+\S+[ \t]*$/m;
  if (!/^COPY\s+--from=build\s+\/app\/services\s/m.test(result) && dist.test(result)) {
    result = result.replace(dist, (line) => `${line}\nCOPY --from=build /app/services ./services`);
    changes.push('services (their manifests) into the runtime stage');
  }
  return { text: result, changes };
}

/** Adds `services` to the build's `include`, so `npm run build` compiles the services too. */
export function wireBuildConfig(text: string): Edit {
  const include = /("include"\s*:\s*\[)([^\]]*)\]/;
  const match = include.exec(text);
  if (!match || /"services(\/\*\*)?"/.test(match[2]!)) return { text, changes: [] };
  const items = match[2]!.trimEnd();
  return {
    text: text.replace(include, `$1${items}${items ? ', ' : ''}"services"]`),
    changes: ['services in the build'],
  };
}
