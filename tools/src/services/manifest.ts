import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { FicusError, parseValidated } from '../../../platform/src/index.js';

const name = z.string().regex(/^[a-z][a-z0-9-]*$/, 'use lower-case letters, digits and -');

/** `services/<name>/service.json`: what `ficus extract` made the service from, and how to run it. */
const serviceManifestSchema = z.strictObject({
  name,
  /** The monolith module it was extracted from (its data is replicated from that module's schema). */
  module: name,
  /** The schema its tables live in, in its own database: the module's schema name. */
  schema: z.string().regex(/^[a-z_][a-z0-9_]*$/, 'use lower-case letters, digits and _'),
  /** The port it listens on in development (`npm start`) and in the compose file. */
  port: z.number().int().min(1).max(65535),
  /** The module's folder, relative to the repository root. */
  from: z.string().min(1),
  /** Where its routes are mounted, as in the monolith. */
  mountPath: z.string().startsWith('/').default('/api/v1'),
});

export type ServiceManifest = z.output<typeof serviceManifestSchema>;

/** A service found under `services/`, with its folder relative to the repository root. */
export interface FoundService extends ServiceManifest {
  dir: string;
}

/** Every `services/<name>/service.json`, validated; errors name the file and field. */
export function discoverServices(repoRoot: string): FoundService[] {
  const root = join(repoRoot, 'services');
  if (!existsSync(root)) return [];
  const found: FoundService[] = [];
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    const file = join(root, entry.name, 'service.json');
    if (!entry.isDirectory() || !existsSync(file)) continue;
    const manifest = parseValidated(
      readFileSync(file, 'utf8'),
      `services/${entry.name}/service.json`,
      serviceManifestSchema,
      {
        code: 'FICUS_ERR_CONFIG',
        expected: 'a valid service manifest',
      },
    );
    if (manifest.name !== entry.name) {
      throw new FicusError(
        'FICUS_ERR_CONFIG',
        `services/${entry.name}/service.json: name "${manifest.name}" must match its folder "${entry.name}"`,
      );
    }
    found.push({ ...manifest, dir: `services/${entry.name}` });
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

/** The environment variable the route table reads a service's URL from, e.g. `CATALOG_SERVICE_URL`. */
export function serviceUrlVariable(service: string): string {
  return `${service.toUpperCase().replaceAll('-', '_')}_SERVICE_URL`;
}
