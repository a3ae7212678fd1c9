import type { Difference } from '../../../router/src/shadow/compare.js';
import type { FieldReport, RouteParity } from '../../../router/src/shadow/report.js';
import type { Example } from '../../../router/src/shadow/store.js';

const pct = (rate: number | undefined) => (rate === undefined ? 'n/a' : `${(rate * 100).toFixed(2)} %`);
const n = (value: number) => value.toLocaleString('en-US');

function fieldLine(field: FieldReport, compared: number): string {
  const share = compared ? ` (${((field.flagged / compared) * 100).toFixed(1)} % of samples)` : '';
  const noise = field.noise ? `, on its own ${n(field.noise)}×` : '';
  const examples = field.examples.length ? `  e.g. ${field.examples.join(' ')}` : '';
  return `${field.field}  ${field.kind}  ${n(field.flagged)}×${share}${noise}${examples}`;
}

/** The top differing fields of a route, one line each. */
export function formatDifferences(parity: RouteParity, top: number): string[] {
  return parity.differences.slice(0, top).map((field) => fieldLine(field, parity.compared));
}

/** One route's parity for a terminal. */
export function formatRouteParity(parity: RouteParity, top = 10): string[] {
  const [low, high] = parity.interval ?? [undefined, undefined];
  const lines = [
    `${parity.route}: match ${pct(parity.matchRate)}${low === undefined ? '' : ` (95 % CI ${pct(low)} – ${pct(high)})`} over ${n(parity.compared)} compared samples`,
    `  samples: ${n(parity.match)} match, ${n(parity.differ)} differ, ${n(parity.failed)} failed (no candidate answer), ${n(parity.dropped)} dropped (limits), ${n(parity.skipped)} skipped${parity.byHash ? `; ${n(parity.byHash)} compared by length and hash (over the copy limit)` : ''}`,
  ];
  if (parity.endpoints.length > 1)
    for (const endpoint of parity.endpoints.slice(0, top))
      lines.push(
        `  ${endpoint.endpoint}: ${pct(endpoint.compared ? endpoint.match / endpoint.compared : undefined)} of ${n(endpoint.compared)}`,
      );
  if (parity.differences.length) {
    lines.push('  differences (path  kind  samples):');
    for (const line of formatDifferences(parity, top)) lines.push(`    ${line}`);
  } else lines.push('  differences: none');
  if (parity.noise.length) {
    lines.push(
      `  learned as noise (differs in the serving upstream's own answers; ${n(parity.noiseSamples)} samples asked twice):`,
    );
    for (const field of parity.noise.slice(0, top))
      lines.push(
        `    ${field.field}  ${field.kind}  candidate ${n(field.raw)}×, on its own ${n(field.noise)}× — not reported`,
      );
  }
  return lines;
}

const colours = { red: '\u001b[31m', green: '\u001b[32m', dim: '\u001b[2m', reset: '\u001b[0m' };

function pretty(value: unknown): string[] {
  return (typeof value === 'string' ? value : JSON.stringify(value, null, 2)).split('\n');
}

/**
 * An example as two columns, primary and candidate, lines holding a difference marked `!`
 * (red and green on a terminal), then the differences themselves.
 */
export function formatExample(example: Example, options: { colour: boolean; width: number }): string[] {
  const paint = (colour: keyof typeof colours, text: string) =>
    options.colour ? `${colours[colour]}${text}${colours.reset}` : text;
  const leaf = (d: Difference) =>
    d.path
      .split(/[.[\]]+/)
      .filter(Boolean)
      .pop() ?? '';
  const keys = new Set(example.differences.map((d) => `"${leaf(d)}"`));
  const marked = (line: string) => [...keys].some((key) => line.includes(key));
  const left = [`${example.primary.upstream}: ${example.primary.status}`, ...pretty(example.primary.body)];
  const right = [`${example.candidate.upstream}: ${example.candidate.status}`, ...pretty(example.candidate.body)];
  const column = Math.max(20, Math.floor((options.width - 5) / 2));
  const cell = (text: string) => (text.length > column ? `${text.slice(0, column - 1)}…` : text.padEnd(column));
  const lines = [
    `${example.id}  ${example.route}  ${example.method} ${example.path}  ${new Date(example.at).toISOString()}`,
    `request headers: ${JSON.stringify(example.request.headers)}`,
    ...(example.request.body === undefined ? [] : [`request body: ${JSON.stringify(example.request.body)}`]),
    '',
  ];
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const [a, b] = [left[i] ?? '', right[i] ?? ''];
    const differs = i === 0 ? example.primary.status !== example.candidate.status : a !== b || marked(a) || marked(b);
    lines.push(
      differs
        ? `${paint('red', cell(a))} ! ${paint('green', cell(b))}`
        : `${cell(a)} | ${options.colour ? paint('dim', b) : b}`,
    );
  }
  lines.push('', 'differences:');
  for (const d of example.differences)
    lines.push(`  ${d.path}  ${d.kind}  ${JSON.stringify(d.primary ?? null)} → ${JSON.stringify(d.candidate ?? null)}`);
  return lines;
}
