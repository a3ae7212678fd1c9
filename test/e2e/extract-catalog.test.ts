import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listFiles } from '../../platform/src/index.js';
import { repoRoot, spawnNode } from '../kit/processes.js';
import { cloneOfThisRepository } from '../kit/repositories.js';

/** The one file of services/catalog the README says was edited after `ficus extract catalog`. */
const editedAfterExtract = 'contract/cases.json';

describe('services/catalog is what ficus extract catalog produces', () => {
  let clone: string;
  let output: string;

  beforeAll(async () => {
    clone = await cloneOfThisRepository();
    await rm(join(clone, 'services/catalog'), { recursive: true });
    const extract = spawnNode(['tools/bin/ficus.mjs', 'extract', 'catalog'], {}, clone);
    expect(await extract.exited, extract.output()).toBe(0);
    output = extract.output();
  }, 120_000);

  afterAll(async () => {
    await rm(clone, { recursive: true, force: true });
  });

  it('writes every committed file of the service, the same, and no other', () => {
    const committed = listFiles(repoRoot, 'services/catalog', () => true).sort();
    const produced = listFiles(clone, 'services/catalog', () => true).sort();
    expect(produced).toEqual(committed);
    for (const file of committed) {
      if (file.endsWith(editedAfterExtract)) continue;
      expect(readFileSync(join(clone, file), 'utf8'), file).toBe(readFileSync(join(repoRoot, file), 'utf8'));
    }
  });

  it('leaves the generated contract cases in the committed file, which only adds to them', () => {
    const read = (root: string) =>
      JSON.parse(readFileSync(join(root, 'services/catalog', editedAfterExtract), 'utf8')) as {
        cases: Array<{ name: string; request: unknown }>;
      };
    const committed = read(repoRoot).cases;
    for (const generated of read(clone).cases) {
      expect(committed.find((c) => c.name === generated.name)?.request, generated.name).toEqual(generated.request);
    }
  });

  it('finds the route table, flags, compose file, Dockerfile and build already wired as it wires them', () => {
    expect(output).not.toMatch(/^ {2}edit /m);
    expect(output).not.toMatch(/^ {2}flag /m);
    expect(output).toMatch(/catalog-read +GET +\/api\/v1\/products\/\*\*/);
    expect(output).toMatch(/catalog-write +POST,PUT +\/api\/v1\/products\/\*\*/);
  });
});
