import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BoundaryViolation } from './check.js';
import type { BoundedModule } from './modules.js';

export const dataOwnershipRule = {
  name: 'module-data-ownership',
  comment: "A module reads and writes only its own schema; ask the owning module's index.ts (or react to its events) instead of its tables.",
};

const sourceFile = /\.(ts|mts|cts|js|mjs|cjs|sql)$/;
// String literals: '...', "..." and template text (without ${} parts).
const literal = /'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|`(?:[^`\\]|\\.)*`/g;

function filesUnder(root: string, dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) out.push(...filesUnder(root, path));
    else if (sourceFile.test(entry.name)) out.push(path);
  }
  return out;
}

/**
 * References to another module's schema in a module's code — knex `withSchema('x')`,
 * `'x.table'` names, raw SQL such as `select … from x.table` — found in string literals,
 * with file and line. What this cannot see (names built at run time, unqualified names with
 * a search path pointing elsewhere) the per-module database roles refuse at run time.
 */
export function findForeignSchemaReferences(repoRoot: string, modules: readonly BoundedModule[]): BoundaryViolation[] {
  const violations: BoundaryViolation[] = [];
  for (const module of modules) {
    const others = modules.filter((m) => m.schema !== module.schema);
    if (others.length === 0) continue;
    const schemas = others.map((m) => m.schema).join('|');
    const qualified = new RegExp(`(?:^|[^\\w.])(?:"?)(${schemas})"?\\."?[a-z_][a-z0-9_]*`, 'i');
    const bare = new RegExp(`^(${schemas})$`);
    for (const file of filesUnder(repoRoot, module.dir)) {
      const text = readFileSync(join(repoRoot, file), 'utf8');
      const lines = text.split('\n');
      const seen = new Set<string>();
      lines.forEach((line, index) => {
        const withSchema = /withSchema\(\s*['"`]([a-z_][a-z0-9_]*)['"`]/.exec(line)?.[1];
        const strings = file.endsWith('.sql') ? [line] : (line.match(literal) ?? []).map((s) => s.slice(1, -1));
        const hit = withSchema && bare.test(withSchema) ? withSchema : strings.map((s) => qualified.exec(s)?.[1]).find(Boolean);
        if (!hit) return;
        const owner = others.find((m) => m.schema === hit.toLowerCase())!;
        const key = `${owner.name}:${index}`;
        if (seen.has(key)) return;
        seen.add(key);
        violations.push({
          rule: dataOwnershipRule.name,
          why: `${dataOwnershipRule.comment} (schema ${owner.schema} belongs to ${owner.name})`,
          from: file,
          to: `${owner.dir} (schema ${owner.schema})`,
          line: index + 1,
          owner: module.name,
        });
      });
    }
  }
  return violations;
}
