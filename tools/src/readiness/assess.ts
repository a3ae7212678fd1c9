import type { BaselineEntry } from '../boundaries/baseline.js';
import type { BoundaryReport } from '../boundaries/check.js';
import { cycleGroups } from '../boundaries/cycles.js';
import { dataOwnershipRule } from '../boundaries/data-ownership.js';
import { plural as count } from '../boundaries/report.js';

export interface ModuleReadiness {
  module: string;
  rank: number;
  /** Modules that import this one, with the import sites that become network calls or events. */
  fanIn: Array<{ module: string; sites: string[] }>;
  /** Modules this one imports: calls the extracted service must make over the network. */
  fanOut: Array<{ module: string; sites: string[] }>;
  /** Baseline entries (known violations) from or into this module. */
  debt: number;
  /** References between this module's code and other modules' schemas, either way. */
  tableReferences: string[];
  /** Other modules in a dependency cycle with this one. */
  cycleWith: string[];
  /** Route ids whose service is this module, from the router's route table. */
  routes: string[];
  /** The service it was extracted into, when it was. */
  service?: { name: string; dir: string };
  /** Why it ranks where it does, in words. */
  reasons: string[];
}

/**
 * Ranks modules by how cheaply they can be extracted: first those in no cycle and sharing no
 * tables (blockers), then by how many in-process calls would become network calls (import
 * sites in and out), then by known boundary debt; a route already in the route table breaks ties.
 */
export function assessReadiness(
  report: BoundaryReport,
  baseline: readonly BaselineEntry[],
  routesByService: ReadonlyMap<string, string[]>,
  services: ReadonlyArray<{ name: string; module: string; dir: string }> = [],
): ModuleReadiness[] {
  const names = report.modules.map((m) => m.name);
  const cycleMembers = cycleGroups(names, report.edges);
  const assessed = report.modules.map((module) => {
    const inDir = (file: string) => file.startsWith(`${module.dir}/`);
    const fanIn = report.edges.filter((e) => e.to === module.name).map((e) => ({ module: e.from, sites: e.sites }));
    const fanOut = report.edges.filter((e) => e.from === module.name).map((e) => ({ module: e.to, sites: e.sites }));
    // A data-ownership entry names its target as `<module dir> (<reference>)`, not a file.
    const touches = (entry: { rule: string; from: string; to: string }) =>
      inDir(entry.from) ||
      (entry.rule === dataOwnershipRule.name ? entry.to.startsWith(`${module.dir} `) : inDir(entry.to));
    const debt = baseline.filter(touches).length;
    const tableReferences = report.violations
      .filter((v) => v.rule === dataOwnershipRule.name && touches(v))
      .map((v) => `${v.from}:${v.line} → ${v.to}`);
    const cycleWith = cycleMembers.get(module.name) ?? [];
    const routes = routesByService.get(module.name) ?? [];
    const sitesIn = fanIn.reduce((n, e) => n + e.sites.length, 0);
    const sitesOut = fanOut.reduce((n, e) => n + e.sites.length, 0);
    const reasons: string[] = [];
    const service = services.find((s) => s.module === module.name);
    if (service) reasons.push(`it is extracted into ${service.dir}`);
    if (cycleWith.length)
      reasons.push(`it is in a dependency cycle with ${cycleWith.join(', ')}: break the cycle first`);
    if (tableReferences.length)
      reasons.push(
        `${count(tableReferences.length, 'reference')} between its code and other modules' tables must go through APIs first`,
      );
    reasons.push(
      sitesIn
        ? `${count(sitesIn, 'import site')} in ${fanIn.map((e) => e.module).join(', ')} would become network calls or events`
        : 'no other module calls it',
      sitesOut
        ? `it calls ${fanOut.map((e) => e.module).join(', ')} from ${count(sitesOut, 'site')}, which would become network calls`
        : 'it calls no other module',
    );
    if (debt) reasons.push(`${count(debt, 'known boundary violation')} in the baseline involve it`);
    reasons.push(
      routes.length
        ? `the route table already gives it ${routes.join(', ')}`
        : 'no route in the route table points at it yet',
    );
    const blockers = (cycleWith.length ? 1000 : 0) + tableReferences.length * 100;
    return {
      module: module.name,
      rank: 0,
      fanIn,
      fanOut,
      debt,
      tableReferences,
      cycleWith,
      routes,
      ...(service ? { service: { name: service.name, dir: service.dir } } : {}),
      reasons,
      cost: blockers + sitesIn + sitesOut + debt,
    };
  });
  assessed.sort((a, b) => a.cost - b.cost || b.routes.length - a.routes.length || a.module.localeCompare(b.module));
  return assessed.map(({ cost: _cost, ...rest }, index) => ({ ...rest, rank: index + 1 }));
}

export function formatReadiness(ranking: readonly ModuleReadiness[], only?: string): string {
  const lines = ['Extraction readiness (extract from the top):', ''];
  for (const entry of ranking) {
    if (only && entry.module !== only) continue;
    lines.push(`${entry.rank}. ${entry.module} — ${entry.reasons.join('; ')}.`);
    for (const edge of entry.fanIn) lines.push(`     called from ${edge.module}: ${edge.sites.join(', ')}`);
    for (const edge of entry.fanOut) lines.push(`     calls ${edge.module}: ${edge.sites.join(', ')}`);
    for (const reference of entry.tableReferences) lines.push(`     table reference: ${reference}`);
  }
  return `${lines.join('\n')}\n`;
}
