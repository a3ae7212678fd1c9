import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { serveToggle } from '../../../router/src/flags/features.js';
import { FileFlagStore } from '../../../tools/src/flags/flag-store.js';

const made: string[] = [];
afterAll(() => Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true }))));

describe('the local flags file', () => {
  it('keeps every change when many writers set flags at once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ficus-flags-'));
    made.push(dir);
    const file = join(dir, 'flags.json');
    // Separate stores, as separate `ficus flags set` processes would be.
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => new FileFlagStore(file).put(serveToggle(`ficus.route-${i}`, `route-${i}`, 'canary', i, 'userId'))),
    );
    const written = JSON.parse(await readFile(file, 'utf8')) as { features: Array<{ name: string }> };
    expect(written.features.map((f) => f.name).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `ficus.route-${i}`).sort());
  });

  it('tells each writer the toggle it replaced, so concurrent changes audit a chain, not the same "from" twice', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ficus-flags-'));
    made.push(dir);
    const file = join(dir, 'flags.json');
    const replaced = await Promise.all(
      Array.from({ length: 10 }, (_, i) => new FileFlagStore(file).put(serveToggle('ficus.orders', 'orders', 'canary', i + 1, 'userId'))),
    );
    const froms = replaced.map((feature) => (feature ? String(feature.strategies[0]!.parameters!['rollout']) : 'none'));
    expect(froms.filter((from) => from === 'none')).toHaveLength(1);
    expect(new Set(froms).size).toBe(10);
  });
});
