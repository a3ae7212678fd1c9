import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { FicusError } from '../../../platform/src/index.js';
import { compilePattern, comparePatterns, matchPattern, patternCovers, type PathPattern } from './pattern.js';
import { defaultShadowRules, routeTableSchema, type RouteSpec, type ShadowRules, type UpstreamSpec } from './schema.js';

export interface CompiledRoute extends Omit<RouteSpec, 'flag' | 'fallback' | 'shadow'> {
  flag: string;
  fallback: 'monolith' | 'none';
  shadow: ShadowRules;
  pattern: PathPattern;
  methods: ReadonlySet<string> | undefined;
  headers: ReadonlyArray<[string, string]>;
}

export interface RouteTable {
  upstreams: ReadonlyMap<string, UpstreamSpec>;
  defaultUpstream: string;
  /** Most specific first: the first that matches wins. */
  routes: readonly CompiledRoute[];
  /** Where the table came from, for messages. */
  source: string;
}

type Headers = Record<string, string | string[] | undefined>;

/** The route that takes a request, or undefined for the default upstream. */
export function matchRoute(
  table: RouteTable,
  method: string,
  segments: readonly string[],
  headers: Headers,
): CompiledRoute | undefined {
  for (const route of table.routes) {
    if (route.methods && !route.methods.has(method)) continue;
    if (!matchPattern(route.pattern, segments)) continue;
    if (route.headers.length > 0 && !route.headers.every(([name, value]) => headers[name] === value)) continue;
    return route;
  }
  return undefined;
}

function lineOf(doc: Document, counter: LineCounter, path: ReadonlyArray<PropertyKey>): number | undefined {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = doc.getIn(path.slice(0, depth) as Array<string | number>, true) as
      | { range?: [number, number, number] }
      | undefined;
    if (node?.range) return counter.linePos(node.range[0]).line;
  }
  return undefined;
}

/** `routes[2] (id "orders")` for a route path, the plain path otherwise. */
function describePath(raw: unknown, path: ReadonlyArray<PropertyKey>): string {
  const [head, index, ...rest] = path;
  if (head === 'routes' && typeof index === 'number') {
    const id = (raw as { routes?: Array<{ id?: unknown }> })?.routes?.[index]?.id;
    const field = rest.length ? `: ${rest.join('.')}` : '';
    return `routes[${index}]${typeof id === 'string' ? ` (id "${id}")` : ''}${field}`;
  }
  return path.join('.') || '(top level)';
}

function methodsCover(outer: CompiledRoute, inner: CompiledRoute): boolean {
  if (!outer.methods) return true;
  if (!inner.methods) return false;
  return [...inner.methods].every((m) => outer.methods!.has(m));
}

function headersCover(outer: CompiledRoute, inner: CompiledRoute): boolean {
  return outer.headers.every(([name, value]) => inner.headers.some(([n, v]) => n === name && v === value));
}

/** Most specific first; ties keep file order. Header and method constraints make a route more specific. */
function compareRoutes(a: CompiledRoute, b: CompiledRoute): number {
  return (
    comparePatterns(a.pattern, b.pattern) ||
    b.headers.length - a.headers.length ||
    Number(!a.methods) - Number(!b.methods)
  );
}

/**
 * Parses and validates a route table: schema first (zod), then semantic checks (duplicate ids
 * and flags, unknown upstreams, unsafe patterns, unreachable routes, a retired route's fallback
 * or shadow rules). Every problem is reported at once with file, line, route id and field.
 * Returns a frozen, compiled table, defaults filled in.
 */
export function parseRouteTable(text: string, source: string): RouteTable {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const lines = doc.errors.map((e) => `  ${source}:${counter.linePos(e.pos[0]).line}: ${e.message.split('\n')[0]}`);
    throw new FicusError('FICUS_ERR_ROUTE_INVALID', `${source} is not valid YAML:\n${lines.join('\n')}`);
  }
  const raw: unknown = doc.toJS();
  const problems: string[] = [];
  const at = (path: ReadonlyArray<PropertyKey>, message: string) => {
    const line = lineOf(doc, counter, path);
    problems.push(`  ${source}${line ? `:${line}` : ''}: ${describePath(raw, path)}: ${message}`);
  };
  const parsed = routeTableSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const unknown = issue.code === 'unrecognized_keys' ? ` (${issue.keys.join(', ')})` : '';
      at(issue.path, `${issue.message}${unknown}`);
    }
    throw new FicusError(
      'FICUS_ERR_ROUTE_INVALID',
      `${source} is invalid; fix these and reload:\n${problems.join('\n')}`,
    );
  }
  const spec = parsed.data;
  const upstreams = new Map(Object.entries(spec.upstreams));
  if (!upstreams.has(spec.defaultUpstream))
    at(['defaultUpstream'], `unknown upstream "${spec.defaultUpstream}"; declare it under upstreams`);

  const compiled: CompiledRoute[] = [];
  const ids = new Map<string, number>();
  const flags = new Map<string, string>();
  spec.routes.forEach((route, index) => {
    const pattern = compilePattern(route.match.path);
    if (typeof pattern === 'string') at(['routes', index, 'match', 'path'], `"${route.match.path}" ${pattern}`);
    if (ids.has(route.id))
      at(['routes', index, 'id'], `duplicate id; routes[${ids.get(route.id)}] already uses "${route.id}"`);
    ids.set(route.id, index);
    if (!upstreams.has(route.service))
      at(['routes', index, 'service'], `unknown upstream "${route.service}"; declare it under upstreams`);
    if (route.service === spec.defaultUpstream)
      at(['routes', index, 'service'], `is the default upstream; the route would change nothing`);
    const flag = route.flag ?? `ficus.${route.id}`;
    if (flags.has(flag))
      at(
        ['routes', index, 'flag'],
        `flag "${flag}" already drives route "${flags.get(flag)}"; each route needs its own`,
      );
    flags.set(flag, route.id);
    const retired = route.stage === 'retired';
    // Both would promise what a retired route cannot do: the monolith no longer has its module.
    if (retired && route.fallback === 'monolith')
      at(
        ['routes', index, 'fallback'],
        'a retired route cannot fall back to the monolith: its module is gone from it; remove fallback (a retired route has none)',
      );
    if (retired && route.shadow)
      at(
        ['routes', index, 'shadow'],
        'a retired route has no shadow traffic: the monolith has no answer left to compare with; remove shadow',
      );
    if (typeof pattern === 'string') return;
    compiled.push({
      ...route,
      flag,
      fallback: route.fallback ?? (retired ? 'none' : 'monolith'),
      shadow: route.shadow ?? defaultShadowRules,
      pattern,
      methods: route.match.methods
        ? new Set(route.match.methods.flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m])))
        : undefined,
      headers: Object.entries(route.match.headers ?? {}).map(
        ([name, value]) => [name.toLowerCase(), value] as [string, string],
      ),
    });
  });

  const ordered = compiled
    .map((route, index) => ({ route, index }))
    .sort((a, b) => compareRoutes(a.route, b.route) || a.index - b.index)
    .map((e) => e.route);
  ordered.forEach((route, position) => {
    const shadow = ordered
      .slice(0, position)
      .find(
        (earlier) =>
          patternCovers(earlier.pattern, route.pattern) && methodsCover(earlier, route) && headersCover(earlier, route),
      );
    if (shadow) {
      at(
        ['routes', ids.get(route.id)!, 'match'],
        `can never match: route "${shadow.id}" (${shadow.pattern.source}) takes every request it would; make it more specific or remove it`,
      );
    }
  });

  if (problems.length > 0)
    throw new FicusError(
      'FICUS_ERR_ROUTE_INVALID',
      `${source} is invalid; fix these and reload:\n${problems.join('\n')}`,
    );
  return Object.freeze({ upstreams, defaultUpstream: spec.defaultUpstream, routes: Object.freeze(ordered), source });
}

/**
 * Replaces `${NAME}` and `${NAME:-default}` with environment values, so one table serves a
 * laptop and a container network. An unset variable without a default is an error.
 */
export function substituteEnv(text: string, env: Record<string, string | undefined>, source: string): string {
  const missing = new Set<string>();
  const result = text.replace(
    /\$\{([A-Z_][A-Z0-9_]*)(?::-([^}]*))?\}/g,
    (_match, name: string, fallback: string | undefined) => {
      const value = env[name];
      if (value !== undefined && value !== '') return value;
      if (fallback !== undefined) return fallback;
      missing.add(name);
      return '';
    },
  );
  if (missing.size > 0) {
    throw new FicusError(
      'FICUS_ERR_ROUTE_INVALID',
      `${source} uses ${[...missing].map((n) => `\${${n}}`).join(', ')} but the variable is not set; set it or write \${NAME:-default}`,
    );
  }
  return result;
}

export function loadRouteTable(file: string, env: Record<string, string | undefined> = {}): RouteTable {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new FicusError(
      'FICUS_ERR_ROUTE_INVALID',
      `cannot read the route table ${file}: ${(error as Error).message}; set ROUTES_FILE to its path`,
      { cause: error },
    );
  }
  return parseRouteTable(substituteEnv(text, env, file), file);
}
