import { describe, expect, it } from 'vitest';
import { spawnNode } from '../kit/processes.js';

describe('the test command', () => {
  it('exits non-zero when a test fails, with the embedded PostgreSQL running', async () => {
    const proc = spawnNode(
      ['node_modules/vitest/vitest.mjs', 'run', '--config', 'test/e2e/fixtures/failing-suite/vitest.config.ts'],
      { CI: 'true' },
    );
    expect(await proc.exited, proc.output()).toBe(1);
    expect(proc.output()).toMatch(/1 failed/);
  }, 60_000);
});
