import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isScalar, isSeq, type YAMLSeq } from 'yaml';
import { apiFlagOf, shadowFlagOf } from '../../platform/src/index.js';
import { discoverModules } from '../../tools/src/boundaries/modules.js';
import { formatFlagsFile } from '../../tools/src/flags/flags-file-layout.js';
import { parseYaml, yamlText } from '../../tools/src/extract/wiring.js';
import { repoRoot } from './processes.js';

/**
 * The starter as it ships, for the tests that walk it from the start (extract, shadow, cutover,
 * retire): this repository's files with any `ficus retire` of it undone. After a retire the
 * repository runs without the module, and `npm test` still proves the walkthrough that got there:
 * each module.json without "retired", each retired route back to stage-by-flag with its fallback
 * to the monolith, its toggles off, no API toggle, no audit of those changes.
 */
export const starterFiles = {
  routes: 'router/routes.yaml',
  flags: 'router/flags.json',
} as const;

const modulesDir = 'monolith/src/modules';

interface Toggle {
  name: string;
  enabled?: boolean;
  strategies?: Array<{ parameters?: Record<string, unknown> }>;
}

/** This repository's retired modules (validated manifests), and the services that took them over. */
function retirements(root: string): Array<{ module: string; service: string; manifest: string }> {
  return discoverModules(root, [modulesDir]).flatMap((m) =>
    m.retired ? [{ module: m.name, service: m.retired.service, manifest: `${m.dir}/module.json` }] : [],
  );
}

/** Each file a retire changed, as the starter ships it: path (relative) → text; empty when nothing is retired. */
export function starterEdits(root = repoRoot): Map<string, string> {
  const edits = new Map<string, string>();
  const retired = retirements(root);
  if (retired.length === 0) return edits;
  const services = new Set(retired.map((r) => r.service));
  for (const { manifest: file } of retired) {
    const { retired: _, ...manifest } = JSON.parse(readFileSync(join(root, file), 'utf8'));
    edits.set(file, `${JSON.stringify(manifest, null, 2)}\n`);
  }
  const doc = parseYaml(readFileSync(join(root, starterFiles.routes), 'utf8'), starterFiles.routes);
  const flags = new Set<string>();
  const shadowed = new Set<string>();
  const list = doc.get('routes');
  for (const item of isSeq(list) ? (list as YAMLSeq).items : []) {
    if (!isMap(item) || item.get('stage') !== 'retired' || !services.has(String(item.get('service')))) continue;
    item.delete('stage');
    // Where the starter has it: right after the service.
    const at = item.items.findIndex((pair) => isScalar(pair.key) && pair.key.value === 'service');
    item.items.splice(at + 1, 0, doc.createPair('fallback', 'monolith'));
    const flag = String(item.get('flag') ?? `ficus.${String(item.get('id'))}`);
    flags.add(flag);
    // The starter ships no shadow toggles.
    shadowed.add(shadowFlagOf(flag));
  }
  edits.set(starterFiles.routes, yamlText(doc));
  // As `ficus flags` writes it: the file as written (not as validation reads it), in its layout.
  const data = JSON.parse(readFileSync(join(root, starterFiles.flags), 'utf8')) as { features: Toggle[] };
  const apiFlags = new Set(retired.map((r) => apiFlagOf(r.module)));
  data.features = data.features
    .filter((toggle) => !apiFlags.has(toggle.name) && !shadowed.has(toggle.name))
    .map((toggle) =>
      flags.has(toggle.name)
        ? {
            ...toggle,
            enabled: false,
            strategies: toggle.strategies?.map((s) => ({ ...s, parameters: { ...s.parameters, rollout: '0' } })),
          }
        : toggle,
    );
  edits.set(starterFiles.flags, formatFlagsFile(data));
  return edits;
}

/** A file of this repository as the starter ships it (see starterEdits). */
export function starterText(file: string): string {
  return starterEdits().get(file) ?? readFileSync(join(repoRoot, file), 'utf8');
}
