import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { listFiles } from '../../../platform/src/index.js';
import type { BoundaryViolation } from './check.js';
import type { BoundedModule } from './modules.js';

export const dataOwnershipRule = {
  name: 'module-data-ownership',
  comment:
    "A module reads and writes only its own schema; ask the owning module's index.ts (or react to its events) instead of its tables.",
};

const sourceFile = /\.(ts|mts|cts|js|mjs|cjs|sql)$/;
// String literals: '...', "..." and template text (without ${} parts).
const literal = /'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|`(?:[^`\\]|\\.)*`/g;

/**
 * References to another module's schema in a module's code — knex `withSchema('x')`,
 * `'x.table'` names, raw SQL such as `select … from x.table` — found in string literals,
 * with file and line. What this cannot see (names built at run time, unqualified names with
 * a search path pointing elsewhere) the per-module database roles refuse at run time.
 */
export function findForeignSchemaReferences(repoRoot: string, modules: readonly BoundedModule[]): BoundaryViolation[] {
  const violations: BoundaryViolation[] = [];
  for (const module of modules) {
    const others = new Map(modules.filter((m) => m.schema !== module.schema).map((m) => [m.schema, m]));
    if (others.size === 0) continue;
    const schemas = [...others.keys()].join('|');
    const qualified = new RegExp(`(?:^|[^\\w.])"?(${schemas})"?\\."?([a-z_][a-z0-9_]*)`, 'gi');
    const withSchema = new RegExp(`withSchema\\(\\s*['"\`](${schemas})['"\`]`, 'g');
    for (const file of listFiles(repoRoot, module.dir, (name) => sourceFile.test(name))) {
      const text = readFileSync(join(repoRoot, file), 'utf8');
      const lineAt = (offset: number) => text.slice(0, offset).split('\n').length;
      const found = new Map<string, { line: number; schema: string; reference: string }>();
      const record = (offset: number, schema: string, reference: string) => {
        const line = lineAt(offset);
        found.set(`${line}\u0000${reference}`, { line, schema: schema.toLowerCase(), reference });
      };
      // Whole-file scans, so SQL in multi-line template literals is seen too.
      const regions = file.endsWith('.sql')
        ? [{ text, offset: 0 }]
        : [...text.matchAll(literal)].map((m) => ({ text: m[0], offset: m.index }));
      for (const region of regions) {
        for (const match of region.text.matchAll(qualified))
          record(
            region.offset + match.index + match[0].indexOf(match[1]!),
            match[1]!,
            `${match[1]!.toLowerCase()}.${match[2]}`,
          );
      }
      for (const match of text.matchAll(withSchema)) record(match.index, match[1]!, `withSchema('${match[1]}')`);
      for (const { line, schema, reference } of [...found.values()].sort((a, b) => a.line - b.line)) {
        const owner = others.get(schema)!;
        violations.push({
          rule: dataOwnershipRule.name,
          why: `${dataOwnershipRule.comment} (schema ${owner.schema} belongs to ${owner.name})`,
          from: file,
          // The reference itself is part of the identity, so a baselined file cannot take on new ones unnoticed.
          to: `${owner.dir} (${reference})`,
          line,
          owner: module.name,
        });
      }
    }
  }
  return violations;
}
