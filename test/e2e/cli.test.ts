import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { spawnNode } from '../kit/processes.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { bin: Record<string, string> };

describe('the ficus command', () => {
  it('is the package bin and runs from source with no build step', async () => {
    expect(pkg.bin['ficus']).toBe('./tools/bin/ficus.mjs');
    const proc = spawnNode([pkg.bin['ficus']!, '--version'], {});
    expect(await proc.exited).toBe(0);
    expect(proc.output().trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('lists its commands with one line each in --help', async () => {
    const proc = spawnNode(['tools/bin/ficus.mjs', '--help'], {});
    expect(await proc.exited).toBe(0);
    expect(proc.output()).toMatch(/^ {2}dev +run the demo/m);
    expect(proc.output()).toMatch(/^ {2}db +provision, migrate/m);
    expect(proc.output()).toMatch(/^ {2}flags +show and change route stages/m);
  });

  it('exits 2 on an unknown command', async () => {
    const proc = spawnNode(['tools/bin/ficus.mjs', 'deploy'], {});
    expect(await proc.exited).toBe(2);
    expect(proc.output()).toContain("unknown command 'deploy'");
  });

  it('exits 2 naming DATABASE_URL when `ficus db migrate` has no database', async () => {
    const proc = spawnNode(['tools/bin/ficus.mjs', 'db', 'migrate'], {});
    expect(await proc.exited).toBe(2);
    expect(proc.output()).toContain('FICUS_ERR_CONFIG');
    expect(proc.output()).toContain('DATABASE_URL');
  });
});
