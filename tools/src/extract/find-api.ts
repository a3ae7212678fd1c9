import { posix } from 'node:path';
import type { CopiedFile } from './copy-sources.js';

/** A module API that platform can serve over HTTP: its spec and the function that builds it. */
export interface ModuleApi {
  /** The exported spec, e.g. `catalogApiSpec`. */
  spec: string;
  /** The API's type, e.g. `CatalogApi`. */
  type: string;
  /** The file that declares both, relative to the service's `src/`, e.g. `internal/api.ts`. */
  file: string;
  /** `export function catalogApi(db: Knex): CatalogApi`: its name and parameter types; absent when not found. */
  factory?: { name: string; params: Array<{ name: string; type: string }> };
}

const specDeclaration = /export\s+const\s+(\w+ApiSpec)\s*(?::[^=]+)?=\s*defineApi\s*<\s*(\w+)\s*>\s*\(/;

/**
 * The API spec a module exports from its index.ts (`export { catalogApiSpec }`, declared with
 * `defineApi<CatalogApi>(...)` in a file ficus extract copies), and the function in that file
 * that returns the API. Read statically, like the routes.
 */
export function findModuleApi(indexText: string, copied: readonly CopiedFile[]): ModuleApi | undefined {
  for (const file of copied) {
    const declared = specDeclaration.exec(file.text);
    if (!declared) continue;
    const [, spec, type] = declared as unknown as [string, string, string];
    if (!new RegExp(String.raw`\b${spec}\b`).test(indexText)) continue;
    const factory = new RegExp(String.raw`export\s+function\s+(\w+)\s*\(([^)]*)\)\s*:\s*${type}\b`).exec(file.text);
    const params = (factory?.[2] ?? '')
      .split(',')
      .map((param) => param.trim())
      .filter(Boolean)
      .map((param) => {
        const [name, paramType] = param.split(':').map((part) => part.trim());
        return { name: name!.replace(/[?=].*$/, ''), type: paramType ?? 'unknown' };
      });
    return { spec, type, file: file.path, ...(factory ? { factory: { name: factory[1]!, params } } : {}) };
  }
  return undefined;
}

/**
 * The service's migrations/index.ts with the API router's idempotency table appended to its
 * `migrations` list (and imported from the platform), or undefined when the list is not written
 * as `export const migrations ... = [...]`.
 */
export function withIdempotencyMigration(text: string, platform: string): string | undefined {
  const list = /(export\s+const\s+migrations\b[^=]*=\s*\[)([^\]]*)(\])/.exec(text);
  const imports = [...text.matchAll(/^import\b[^;]*;$/gm)];
  if (!list || imports.length === 0) return undefined;
  const inner = list[2]!;
  const items = inner.includes('\n')
    ? `${inner.replace(/,?\s*$/, '')},\n  apiIdempotencyMigration,\n`
    : `${inner.trim()}${inner.trim() ? ', ' : ''}apiIdempotencyMigration`;
  const appended = text.slice(0, list.index) + list[1] + items + list[3] + text.slice(list.index + list[0].length);
  const last = imports.at(-1)!;
  const at = last.index + last[0].length;
  const source = platform.startsWith('.') ? posix.join('..', platform) : platform;
  const line =
    "\n// The API router's idempotency keys (platform), added by ficus extract: this service serves its module's API.\n" +
    `import { apiIdempotencyMigration } from '${source}';`;
  return appended.slice(0, at) + line + appended.slice(at);
}
