import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { boundariesCommand } from '../../../tools/src/commands/boundaries.js';
import { ruleFixtures } from './boundaries-rules.fixtures.js';

const made: string[] = [];
afterAll(() => Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true }))));
afterEach(() => {
  process.exitCode = undefined;
});

describe('ficus boundaries, one fixture repository per rule', () => {
  it.each(ruleFixtures)('$rule: exits 1 with the exact report', async ({ files, report }) => {
    const root = await mkdtemp(join(tmpdir(), 'ficus-rule-'));
    made.push(root);
    for (const [path, content] of Object.entries(files)) {
      await mkdir(dirname(join(root, path)), { recursive: true });
      await writeFile(join(root, path), content);
    }
    let printed = '';
    await boundariesCommand((text) => (printed += text)).parseAsync(['--root', root], { from: 'user' });
    expect(printed).toBe(report);
    expect(process.exitCode).toBe(1);
  });
});
