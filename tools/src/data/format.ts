import type { Key } from './checksums.js';
import type { DataStatus } from './status.js';
import type { VerifyResult } from './verify.js';

/** Left-aligned columns, two spaces apart. */
function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((row) =>
    row
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
}

const count = (n: number | null, estimated = false) =>
  n === null ? '—' : `${estimated ? '~' : ''}${n.toLocaleString('en')}`;

export function formatStatus(status: DataStatus): string {
  const lines = [
    `${status.module} (schema ${status.schema}, replication ${status.name} from ${status.direction}): ${status.state}`,
  ];
  if (status.subscription) {
    const s = status.subscription;
    lines.push(
      `  subscription ${s.enabled ? 'enabled' : 'disabled'}, worker ${s.workerRunning ? 'running' : 'not running'}, ` +
        `errors: ${s.applyErrors} applying, ${s.syncErrors} copying` +
        (s.applyErrors + s.syncErrors ? " (the reasons are in the target server's log)" : ''),
    );
  }
  if (status.lag) {
    const { bytes, seconds } = status.lag;
    lines.push(
      `  lag: ${bytes === null ? 'unknown' : `${bytes.toLocaleString('en')} bytes`}, ` +
        `${seconds === null ? 'no walsender connected' : `${seconds.toFixed(3)} s`}`,
    );
  }
  for (const leftover of status.leftovers) lines.push(`  left over: ${leftover} (ficus data stop removes it)`);
  lines.push('');
  lines.push(
    ...table(
      ['table', 'state', 'source rows', 'target rows'],
      status.tables.map((t) => [t.table, t.state, count(t.sourceRows, t.estimated), count(t.targetRows, t.estimated)]),
    ),
  );
  if (status.tables.some((t) => t.estimated)) lines.push("(~: the planner's estimate, for tables over a million rows)");
  return `${lines.join('\n')}\n`;
}

const keyText = (key: Key) => (key.length === 1 ? key[0]! : `(${key.join(', ')})`);

export function formatVerify(result: VerifyResult): string {
  const lines = [
    `${result.module}: ${result.equal ? 'source and target are equal' : 'source and target DIFFER'} ` +
      `(${result.seconds.toFixed(1)} s, ${result.rowsPerSecond.toLocaleString('en')} rows/s)`,
    '',
    ...table(
      ['table', 'source rows', 'target rows', 'result'],
      result.tables.map((t) => [
        t.table,
        count(t.sourceRows),
        count(t.targetRows),
        t.equal ? 'equal' : `${t.differences.length} ranges differ`,
      ]),
    ),
  ];
  for (const t of result.tables) {
    for (const d of t.differences) {
      const key = t.primaryKey.length === 1 ? t.primaryKey[0]! : `(${t.primaryKey.join(', ')})`;
      const from = d.from ? keyText(d.from) : 'the first';
      const to = d.to ? `${keyText(d.to)} (exclusive)` : 'the last';
      lines.push(
        `${t.table}: ${key} from ${from} to ${to}: source ${d.source.rows} rows checksum ${d.source.checksum}, ` +
          `target ${d.target.rows} rows checksum ${d.target.checksum}`,
      );
      for (const [what, keys] of [
        ['missing on the target', d.missingOnTarget],
        ['only on the target', d.onlyOnTarget],
        ['changed', d.changed],
      ] as const) {
        if (keys.length) lines.push(`  ${what}: ${keys.map(keyText).join(', ')}`);
      }
    }
  }
  if (result.sequences.length) {
    lines.push('', 'sequences (not replicated by PostgreSQL):');
    lines.push(
      ...table(
        ['table.column', 'source last_value', 'target last_value', ''],
        result.sequences.map((s) => [
          `${s.table}.${s.column}`,
          s.source ?? '—',
          s.onTarget ? (s.target ?? '—') : 'no sequence on the target',
          s.fixedTo
            ? `set to ${s.fixedTo}`
            : s.behind
              ? 'behind: run with --fix-sequences before the service writes'
              : 'ok',
        ]),
      ),
    );
  }
  return `${lines.join('\n')}\n`;
}
