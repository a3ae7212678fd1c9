import type { BaselineComparison } from './baseline.js';
import type { BoundaryReport, BoundaryViolation } from './check.js';

function grouped(violations: readonly BoundaryViolation[]): string[] {
  const byOwner = new Map<string, BoundaryViolation[]>();
  for (const violation of violations)
    byOwner.set(violation.owner, [...(byOwner.get(violation.owner) ?? []), violation]);
  const lines: string[] = [];
  for (const [owner, list] of [...byOwner].sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(owner);
    for (const violation of list) {
      lines.push(`  ${violation.from}${violation.line ? `:${violation.line}` : ''} → ${violation.to}`);
      if (violation.cycle)
        lines.push(
          `    cycle: ${[...violation.cycle.map((step) => `${step.module} (${step.via})`), violation.cycle[0]!.module].join(' → ')}`,
        );
      lines.push(`    ${violation.rule}: ${violation.why}`);
    }
    lines.push('');
  }
  return lines;
}

/** `1 violation`, `2 violations`. */
export const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The human report: new violations grouped by module with file:line, then stale baseline entries, then known debt. */
export function formatReport(report: BoundaryReport, comparison: BaselineComparison, baselineFile: string): string {
  const lines = [
    `ficus boundaries: ${report.files} files, ${report.modules.length} modules (${report.modules.map((m) => m.name).join(', ')})`,
  ];
  if (comparison.fresh.length === 0 && comparison.stale.length === 0) {
    lines.push(
      comparison.known.length
        ? `no new violations (${plural(comparison.known.length, 'known violation')} in ${baselineFile})`
        : 'no violations',
    );
    return `${lines.join('\n')}\n`;
  }
  if (comparison.fresh.length)
    lines.push(`${plural(comparison.fresh.length, 'new violation')}:`, '', ...grouped(comparison.fresh));
  if (comparison.stale.length) {
    lines.push(
      `${`${comparison.stale.length} baseline ${comparison.stale.length === 1 ? 'entry' : 'entries'}`} no longer occur${comparison.stale.length === 1 ? 's' : ''}: remove ${comparison.stale.length === 1 ? 'it' : 'them'} with ficus boundaries --update-baseline, so the fixed debt cannot come back:`,
    );
    for (const entry of comparison.stale) lines.push(`  ${entry.rule}: ${entry.from} → ${entry.to}`);
    lines.push('');
  }
  if (comparison.known.length)
    lines.push(`${plural(comparison.known.length, 'known violation')} stay in ${baselineFile}.`);
  return `${lines.join('\n')}\n`;
}
