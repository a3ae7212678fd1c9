import type { BoundaryReport } from './check.js';

/** The human report: violations grouped by the module (or top folder) they start in, with file:line. */
export function formatReport(report: BoundaryReport): string {
  const { violations } = report;
  const header = `ficus boundaries: ${report.files} files, ${report.modules.length} modules (${report.modules.map((m) => m.name).join(', ')})`;
  if (violations.length === 0) return `${header}\nno violations\n`;
  const byOwner = new Map<string, typeof violations>();
  for (const violation of violations) byOwner.set(violation.owner, [...(byOwner.get(violation.owner) ?? []), violation]);
  const lines = [header, `${violations.length} violation${violations.length === 1 ? '' : 's'} in ${byOwner.size} place${byOwner.size === 1 ? '' : 's'}:`, ''];
  for (const [owner, list] of [...byOwner].sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(owner);
    for (const violation of list) {
      lines.push(`  ${violation.from}${violation.line ? `:${violation.line}` : ''} → ${violation.to}`);
      if (violation.cycle) lines.push(`    cycle: ${[violation.from, ...violation.cycle].join(' → ')}`);
      lines.push(`    ${violation.rule}: ${violation.why}`);
    }
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}
