import type { IForbiddenRuleType } from 'dependency-cruiser';
import type { BoundedModule } from './modules.js';

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The boundary rules of a repository, as dependency-cruiser `forbidden` rules. Each carries a
 * comment that says why, which the report repeats. The same list feeds `ficus boundaries` and
 * the committed `.dependency-cruiser.mjs`, so plain depcruise and editors agree.
 */
export function boundaryRules(modules: readonly BoundedModule[]): IForbiddenRuleType[] {
  const rules: IForbiddenRuleType[] = [];
  const roots = [...new Set(modules.map((m) => m.dir.slice(0, m.dir.lastIndexOf('/'))))].map(escapeRegExp);
  const inModules = roots.map((root) => `^${root}/`);
  for (const root of roots) {
    rules.push({
      name: 'module-internals-private',
      severity: 'error',
      comment:
        "A module's index.ts is its only public surface: import another module through it, never its http/, internal/ or migrations/ files.",
      from: { path: `^${root}/([^/]+)/` },
      to: { path: `^${root}/[^/]+/`, pathNot: [`^${root}/$1/`, `^${root}/[^/]+/index\\.(ts|js|mjs)$`] },
    });
    rules.push({
      name: 'module-internals-private',
      severity: 'error',
      comment:
        'Code outside the modules (composition roots, services, the router) reaches a module only through its index.ts.',
      from: { pathNot: [...inModules, '^tools/', '^test/', '^bench/'] },
      to: { path: `^${root}/[^/]+/`, pathNot: `^${root}/[^/]+/index\\.(ts|js|mjs)$` },
    });
  }
  for (const module of modules) {
    const allowed = [module.name, ...module.dependsOn].map((name) => modules.find((m) => m.name === name)!.dir);
    rules.push({
      name: `module-undeclared-dependency`,
      severity: 'error',
      comment: `${module.name} may use only the modules its module.json declares (${module.dependsOn.join(', ') || 'none'}); declare a dependency there first, so extraction order stays visible.`,
      from: { path: `^${escapeRegExp(module.dir)}/` },
      to: { path: inModules, pathNot: allowed.map((dir) => `^${escapeRegExp(dir)}/`) },
    });
  }
  for (const root of roots) {
    // ficus checks this rule on the module graph (cycles.ts), which also sees module cycles no
    // single chain of files closes; for plain depcruise it reads as: a file cycle that leaves the module.
    rules.push({
      name: 'module-no-cycles',
      severity: 'error',
      comment: 'Modules that depend on each other in a cycle cannot be extracted one at a time.',
      from: { path: `^${root}/([^/]+)/` },
      to: { path: inModules, circular: true, via: { pathNot: `^${root}/$1/` } },
    });
  }
  rules.push(
    {
      name: 'services-not-to-monolith',
      severity: 'error',
      comment: 'An extracted service runs without the monolith: it may not import monolith code or its modules.',
      from: { path: '^services/' },
      to: { path: ['^monolith/', ...inModules] },
    },
    {
      name: 'services-not-to-each-other',
      severity: 'error',
      comment: 'Services talk over the network or events, never by importing each other.',
      from: { path: '^services/([^/]+)/' },
      to: { path: '^services/', pathNot: '^services/$1/' },
    },
    {
      name: 'platform-imports-no-module',
      severity: 'error',
      comment: 'platform/ is the chassis everything shares: it may not depend on what is built on it.',
      from: { path: '^platform/' },
      to: { path: ['^(monolith|services|router|tools)/', ...inModules] },
    },
    {
      name: 'monolith-not-to-router-services-tools',
      severity: 'error',
      comment: 'The monolith depends on platform/ only; the router, services and tools are outside it.',
      from: { path: '^monolith/' },
      to: { path: '^(router|services|tools)/' },
    },
    {
      name: 'router-only-platform',
      severity: 'error',
      comment:
        'The router is the front door for any backend: it depends on platform/ only, never on the code it routes to.',
      from: { path: '^router/' },
      to: { path: ['^(monolith|services|tools)/', ...inModules] },
    },
  );
  return rules;
}
