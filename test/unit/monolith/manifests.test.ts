import { describe, expect, it } from 'vitest';
import { parseManifest } from '../../../platform/src/index.js';
import { definedModules as modules } from '../../../monolith/src/modules.js';

describe('module manifests', () => {
  it('names the file and field of an invalid manifest', () => {
    expect(() =>
      parseManifest(
        { name: 'Orders', schema: 'orders', dependsOn: 'catalog' },
        'monolith/src/modules/orders/module.json',
      ),
    ).toThrowError(
      /monolith\/src\/modules\/orders\/module.json is not a valid module manifest:\n {2}monolith\/src\/modules\/orders\/module.json: name: use lower-case letters, digits and -\n {2}monolith\/src\/modules\/orders\/module.json: dependsOn: /,
    );
  });

  it('gives every module its own schema and declares only existing modules, listed before their dependants', () => {
    const names = modules.map((m) => m.manifest.name);
    expect(new Set(modules.map((m) => m.manifest.schema)).size).toBe(modules.length);
    modules.forEach((definition, index) => {
      for (const dependency of definition.manifest.dependsOn) {
        expect(
          names.indexOf(dependency),
          `${definition.manifest.name} depends on ${dependency}`,
        ).toBeGreaterThanOrEqual(0);
        expect(names.indexOf(dependency)).toBeLessThan(index);
      }
    });
  });
});
