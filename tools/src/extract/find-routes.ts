/** An HTTP route a module's express router serves, as written in its http/ files. */
export interface ModuleRoute {
  method: string;
  /** The path as the router declares it, e.g. `/products/:id` (before the mount path). */
  path: string;
  /** Where it is declared, relative to the module folder, e.g. `http/routes.ts:31`. */
  site: string;
}

/** An exported function that builds the module's express Router, and what it needs. */
export interface RoutesFactory {
  name: string;
  /** The file, relative to the module folder. */
  file: string;
  /** Parameter names and their declared types, e.g. `[{ name: 'db', type: 'Knex' }]`. */
  params: Array<{ name: string; type: string }>;
}

const verbs = 'get|post|put|patch|delete|head|options';
/** `router.get('/products', ...)` and the like: a method call whose first argument is a path literal. */
const verbCall = new RegExp(String.raw`\.(${verbs})\(\s*(['"\`])(\/[^'"\`]*)\2`, 'g');
/** `router.route('/products/:id')`, followed by chained `.get(...).put(...)` calls. */
const routeCall = /\.route\(\s*(['"`])(\/[^'"`]*)\1\s*\)/g;
const chainedVerb = new RegExp(String.raw`^\s*\.(${verbs})\(`);
const factory = /export\s+function\s+(\w+)\s*\(([^)]*)\)\s*:\s*(?:express\.)?Router\b/g;

/** The index just past the parenthesis that closes the one before `from`; strings and comments skipped roughly. */
function skipArguments(text: string, from: number): number {
  let depth = 1;
  for (let i = from; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"' || c === "'" || c === '`') {
      for (i++; i < text.length && text[i] !== c; i++) if (text[i] === '\\') i++;
    } else if (c === '/' && text[i + 1] === '/') {
      i = text.indexOf('\n', i);
      if (i === -1) return text.length;
    } else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i + 1;
  }
  return text.length;
}

/** The methods chained on a `.route(path)` call that ends at `from`: `.get(...).post(...)` → GET, POST. */
function chainedMethods(text: string, from: number): string[] {
  const methods: string[] = [];
  for (let at = from; ; ) {
    const next = chainedVerb.exec(text.slice(at, at + 200));
    if (!next) return methods;
    methods.push(next[1]!.toUpperCase());
    at = skipArguments(text, at + next[0].length);
  }
}

function lineAt(text: string, index: number): number {
  return text.slice(0, index).split('\n').length;
}

/**
 * Reads the routes out of a module's express router files. A static reading (the router is not
 * run, so no database or secret is needed): it sees calls with a literal path, which is how
 * express routers are written; a path built at run time is not found and must be added to the
 * route table by hand.
 */
export function findRoutes(files: ReadonlyArray<{ file: string; text: string }>): {
  routes: ModuleRoute[];
  factories: RoutesFactory[];
} {
  const routes: ModuleRoute[] = [];
  const factories: RoutesFactory[] = [];
  for (const { file, text } of files) {
    for (const match of text.matchAll(verbCall)) {
      routes.push({ method: match[1]!.toUpperCase(), path: match[3]!, site: `${file}:${lineAt(text, match.index)}` });
    }
    for (const match of text.matchAll(routeCall)) {
      for (const method of chainedMethods(text, match.index + match[0].length)) {
        routes.push({ method, path: match[2]!, site: `${file}:${lineAt(text, match.index)}` });
      }
    }
    for (const match of text.matchAll(factory)) {
      const params = match[2]!
        .split(',')
        .map((param) => param.trim())
        .filter(Boolean)
        .map((param) => {
          const [name, type] = param.split(':').map((part) => part.trim());
          return { name: name!.replace(/[?=].*$/, ''), type: type ?? 'unknown' };
        });
      factories.push({ name: match[1]!, file, params });
    }
  }
  const key = (r: ModuleRoute) => `${r.method} ${r.path}`;
  const unique = [...new Map(routes.map((r) => [key(r), r])).values()];
  return { routes: unique.sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method)), factories };
}

const readMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

/** One route-table entry ficus proposes for a module: its paths under one glob, read or write methods. */
export interface ProposedRoute {
  id: string;
  flag?: string;
  path: string;
  methods: string[];
  kind: 'read' | 'write';
}

/**
 * Groups a module's routes into route-table entries: reads (GET) apart from writes, since reads
 * move first and writes only with the data; one entry per first path segment (`/products`
 * and `/products/:id` → `/api/v1/products/**`). The first read entry is `<module>-read`; more
 * share its flag, so one stage moves all of a module's reads.
 */
export function proposeRoutes(module: string, mountPath: string, routes: readonly ModuleRoute[]): ProposedRoute[] {
  const proposed: ProposedRoute[] = [];
  const mount = mountPath.replace(/\/+$/, '');
  for (const kind of ['read', 'write'] as const) {
    const mine = routes.filter((r) => readMethods.has(r.method) === (kind === 'read'));
    const bySegment = new Map<string, ModuleRoute[]>();
    for (const route of mine) {
      const segment = route.path.split('/').filter(Boolean)[0] ?? '';
      bySegment.set(segment, [...(bySegment.get(segment) ?? []), route]);
    }
    const id = `${module}-${kind}`;
    for (const [segment, group] of [...bySegment].sort(([a], [b]) => a.localeCompare(b))) {
      const exact = group.every((r) => r.path.replace(/\/+$/, '') === `/${segment}`);
      const path = `${mount}/${segment}${exact ? '' : '/**'}`.replace(/\/{2,}/g, '/');
      const methods = kind === 'read' ? ['GET'] : [...new Set(group.map((r) => r.method))].sort();
      const first = proposed.every((p) => p.kind !== kind);
      proposed.push({
        id: first ? id : `${id}-${segment}`,
        ...(first ? {} : { flag: `ficus.${id}` }),
        path,
        methods,
        kind,
      });
    }
  }
  return proposed;
}
