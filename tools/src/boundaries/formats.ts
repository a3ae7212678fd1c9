import type { BaselineComparison } from './baseline.js';
import type { BoundaryViolation } from './check.js';
import { boundaryRules } from './rules.js';
import { dataOwnershipRule } from './data-ownership.js';
import type { BoundedModule } from './modules.js';

const message = (v: BoundaryViolation) => `${v.from} imports ${v.to}: ${v.why}`;

// GitHub workflow commands need %, CR and LF escaped in messages, and also : and , in properties.
const escapeData = (text: string) => text.replaceAll('%', '%25').replaceAll('\r', '%0D').replaceAll('\n', '%0A');
const escapeProperty = (text: string) => escapeData(text).replaceAll(':', '%3A').replaceAll(',', '%2C');

/** GitHub Actions annotations: one `::error` per new violation and per stale baseline entry. */
export function githubAnnotations(comparison: BaselineComparison, baselineFile: string): string {
  const lines = comparison.fresh.map(
    (v) =>
      `::error file=${escapeProperty(v.from)}${v.line ? `,line=${v.line}` : ''},title=${escapeProperty(v.rule)}::${escapeData(message(v))}`,
  );
  for (const entry of comparison.stale) {
    lines.push(
      `::error file=${escapeProperty(baselineFile)},title=stale-baseline-entry::${escapeData(`${entry.rule}: ${entry.from} → ${entry.to} no longer occurs; run ficus boundaries --update-baseline`)}`,
    );
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** SARIF 2.1.0 for code-scanning tools: the rules with their reasons, and the new violations as results. */
export function sarif(comparison: BaselineComparison, modules: readonly BoundedModule[], version: string): string {
  const rules = new Map<string, string>();
  // Some rules exist once per module or module root: the first one's reason describes them all.
  for (const rule of boundaryRules(modules))
    if (rule.name && !rules.has(rule.name)) rules.set(rule.name, rule.comment ?? rule.name);
  rules.set(dataOwnershipRule.name, dataOwnershipRule.comment);
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'ficus boundaries',
            version,
            rules: [...rules].map(([id, text]) => ({ id, shortDescription: { text: id }, fullDescription: { text } })),
          },
        },
        results: comparison.fresh.map((v) => ({
          ruleId: v.rule,
          level: 'error',
          message: { text: message(v) },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: v.from },
                ...(v.line ? { region: { startLine: v.line } } : {}),
              },
            },
          ],
        })),
      },
    ],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}
