import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { spawnNode } from '../kit/processes.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  bin: Record<string, string>;
};

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

  // Usage errors of commands given to addCommand: commander itself would exit 1, which `ficus boundaries` means as
  // "violations found". Every case is covered in process by test/unit/tools/cli.test.ts; these two run the real bin.
  it('exits 2, not 1, on a bad `ficus boundaries --format`', async () => {
    const proc = spawnNode(['tools/bin/ficus.mjs', 'boundaries', '--format', 'nope'], {});
    expect(await proc.exited).toBe(2);
    expect(proc.output()).toContain("option '--format <format>' argument 'nope' is invalid");
    expect(proc.output()).toContain('(run ficus boundaries --help for usage)');
  });

  it('exits 2 when `ficus flags set` has no route', async () => {
    const proc = spawnNode(['tools/bin/ficus.mjs', 'flags', 'set', '--stage', 'canary', '--percent', '10'], {});
    expect(await proc.exited).toBe(2);
    expect(proc.output()).toContain("missing required argument 'route'");
    expect(proc.output()).toContain('(run ficus flags set --help for usage)');
  });

  it('exits 2 naming DATABASE_URL when `ficus db migrate` has no database', async () => {
    const proc = spawnNode(['tools/bin/ficus.mjs', 'db', 'migrate'], {});
    expect(await proc.exited).toBe(2);
    expect(proc.output()).toContain('FICUS_ERR_CONFIG');
    expect(proc.output()).toContain('DATABASE_URL');
  });
});
