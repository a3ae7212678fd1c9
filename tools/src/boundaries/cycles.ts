/**
 * Cycles between modules, found on the module graph rather than by dependency-cruiser's
 * per-file search. A module cycle is what blocks extracting one module at a time, and it exists
 * even when no single chain of files closes (billing/a.ts imports shipping, shipping/b.ts imports
 * billing). The module graph is small, so this stays cheap however many files the modules hold;
 * dependency-cruiser's file-level search grows with files × dependencies and dominated the check
 * on large repositories.
 */

/** One import from a file of one module into a file of another. */
export interface ModuleImport {
  fromModule: string;
  toModule: string;
  from: string;
  to: string;
  line: number | undefined;
}

/** A step around a cycle: the module, and the import site (`file:line`) that leads to the next module. */
export interface CycleStep {
  module: string;
  via: string;
}

export const site = (i: ModuleImport) => `${i.from}${i.line ? `:${i.line}` : ''}`;

/** Module edges as a successor map. */
function successors(pairs: Iterable<{ from: string; to: string }>): Map<string, Set<string>> {
  const next = new Map<string, Set<string>>();
  for (const { from, to } of pairs) {
    let set = next.get(from);
    if (!set) next.set(from, (set = new Set()));
    set.add(to);
  }
  return next;
}

/** The shortest module path from `from` to `to` (both included), or undefined. */
function shortestPath(next: ReadonlyMap<string, Set<string>>, from: string, to: string): string[] | undefined {
  const previous = new Map<string, string>([[from, from]]);
  const queue = [from];
  for (let head = 0; head < queue.length; head++) {
    const node = queue[head]!;
    for (const successor of next.get(node) ?? []) {
      if (previous.has(successor)) continue;
      previous.set(successor, node);
      if (successor === to) {
        const path = [to];
        while (path[0] !== from) path.unshift(previous.get(path[0]!)!);
        return path;
      }
      queue.push(successor);
    }
  }
  return undefined;
}

/** For each module, the other modules it shares a dependency cycle with (its strongly connected group). */
export function cycleGroups(
  names: readonly string[],
  edges: Iterable<{ from: string; to: string }>,
): Map<string, string[]> {
  const next = successors(edges);
  return new Map(
    names.map((n) => [
      n,
      names.filter((other) => other !== n && shortestPath(next, n, other) && shortestPath(next, other, n)),
    ]),
  );
}

/**
 * Every import that closes a module cycle, with the shortest way around: the import's own module,
 * then each module the cycle passes before it returns to the first.
 */
export function cyclesThrough(imports: readonly ModuleImport[]): Array<{ import: ModuleImport; cycle: CycleStep[] }> {
  const next = successors(imports.map((i) => ({ from: i.fromModule, to: i.toModule })));
  const firstSite = new Map<string, ModuleImport>();
  for (const i of imports) {
    const pair = `${i.fromModule}\u0000${i.toModule}`;
    if (!firstSite.has(pair)) firstSite.set(pair, i);
  }
  const ways = new Map<string, string[] | undefined>();
  const found: Array<{ import: ModuleImport; cycle: CycleStep[] }> = [];
  for (const i of imports) {
    const pair = `${i.fromModule}\u0000${i.toModule}`;
    if (!ways.has(pair)) ways.set(pair, shortestPath(next, i.toModule, i.fromModule));
    const back = ways.get(pair);
    if (!back) continue;
    const cycle: CycleStep[] = [{ module: i.fromModule, via: site(i) }];
    for (let k = 0; k < back.length - 1; k++)
      cycle.push({ module: back[k]!, via: site(firstSite.get(`${back[k]}\u0000${back[k + 1]}`)!) });
    found.push({ import: i, cycle });
  }
  return found;
}
