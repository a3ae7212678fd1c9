import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { serveToggle } from '../../../platform/src/flags/features.js';
import { FileFlagStore } from '../../../tools/src/flags/flag-store.js';
import { formatFlagsFile } from '../../../tools/src/flags/flags-file-layout.js';
import { repoRoot } from '../../kit/processes.js';
import { starterFiles, starterText } from '../../kit/starter.js';

const made: string[] = [];
afterAll(() => Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true }))));

describe('the local flags file', () => {
  it('keeps every change when many writers set flags at once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ficus-flags-'));
    made.push(dir);
    const file = join(dir, 'flags.json');
    // Separate stores, as separate `ficus flags set` processes would be.
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        new FileFlagStore(file).put(serveToggle(`ficus.route-${i}`, `route-${i}`, 'canary', i, 'userId')),
      ),
    );
    const written = JSON.parse(await readFile(file, 'utf8')) as { features: Array<{ name: string }> };
    expect(written.features.map((f) => f.name).sort()).toEqual(
      Array.from({ length: 20 }, (_, i) => `ficus.route-${i}`).sort(),
    );
  });

  it('tells each writer the toggle it replaced, so concurrent changes audit a chain, not the same "from" twice', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ficus-flags-'));
    made.push(dir);
    const file = join(dir, 'flags.json');
    const replaced = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        new FileFlagStore(file).put(serveToggle('ficus.orders', 'orders', 'canary', i + 1, 'userId')),
      ),
    );
    const froms = replaced.map((feature) => (feature ? String(feature.strategies[0]!.parameters!['rollout']) : 'none'));
    expect(froms.filter((from) => from === 'none')).toHaveLength(1);
    expect(new Set(froms).size).toBe(10);
  });

  it('leaves the committed router/flags.json byte-identical after a canary and the way back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ficus-flags-'));
    made.push(dir);
    const file = join(dir, 'flags.json');
    await writeFile(file, starterText(starterFiles.flags));
    const committed = await readFile(file);
    const store = new FileFlagStore(file);
    await store.put(serveToggle('ficus.catalog-read', 'catalog-read', 'canary', 10, 'userId'));
    expect((await readFile(file)).equals(committed)).toBe(false);
    await store.put(serveToggle('ficus.catalog-read', 'catalog-read', 'monolith', 0, 'userId'));
    expect(await readFile(file, 'utf8')).toBe(committed.toString('utf8'));
  });

  it('writes several toggles in one change, and tells what each replaced', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ficus-flags-'));
    made.push(dir);
    const file = join(dir, 'flags.json');
    const store = new FileFlagStore(file);
    await store.put(serveToggle('ficus.a', 'a', 'canary', 5, 'userId'));
    const replaced = await store.putAll([
      serveToggle('ficus.a', 'a', 'service', 100, 'userId'),
      serveToggle('ficus.b', 'b', 'service', 100, 'userId'),
    ]);
    expect(replaced.map((f) => f?.strategies[0]?.parameters?.['rollout'])).toEqual(['5', undefined]);
    const written = JSON.parse(await readFile(file, 'utf8')) as { features: Array<{ name: string; enabled: boolean }> };
    expect(written.features.map((f) => [f.name, f.enabled])).toEqual([
      ['ficus.a', true],
      ['ficus.b', true],
    ]);
    expect((await store.get('ficus.a'))?.strategies[0]?.parameters?.['rollout']).toBe('100');
  });

  it('keeps toggles it did not change as they were written', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ficus-flags-'));
    made.push(dir);
    const file = join(dir, 'flags.json');
    // Key order and a numeric rollout that validation would reorder and turn into a string.
    const strategies = [{ name: 'gradual', parameters: { rollout: 5 } }];
    const other = { type: 'release', name: 'other', enabled: true, strategies };
    await writeFile(file, formatFlagsFile({ version: 2, features: [other] }));
    await new FileFlagStore(file).put(serveToggle('ficus.orders', 'orders', 'service', 100, 'userId'));
    const written = JSON.parse(await readFile(file, 'utf8')) as { features: unknown[] };
    expect(JSON.stringify(written.features[0])).toBe(JSON.stringify(other));
  });
});

describe('the flags file layout', () => {
  it('is the layout of the committed router/flags.json', async () => {
    const committed = await readFile(join(repoRoot, 'router/flags.json'), 'utf8');
    expect(formatFlagsFile(JSON.parse(committed))).toBe(committed);
  });

  it('keeps plain values on one line only while the line fits in 120 columns', () => {
    expect(formatFlagsFile({ parameters: { rollout: '0', groupId: 'g' }, values: ['a'] })).toBe(
      '{\n  "parameters": { "rollout": "0", "groupId": "g" },\n  "values": ["a"]\n}\n',
    );
    const long = formatFlagsFile({ constraint: { values: Array.from({ length: 30 }, (_, i) => `v${i}`) } });
    expect(long).toMatch(/"values": \[\n {6}"v0",\n {6}"v1",\n/);
    expect(Math.max(...long.split('\n').map((line) => line.length))).toBeLessThanOrEqual(120);
  });
});
