import { describe, expect, it } from 'vitest';
import type { Logger } from '../../../../platform/src/index.js';
import type { Decision } from '../../../../router/src/decide.js';
import { inlineComparator } from '../../../../router/src/shadow/comparator.js';
import { Mirror } from '../../../../router/src/shadow/mirror.js';
import type { ParityRecorder } from '../../../../router/src/shadow/parity.js';
import type { RouterState } from '../../../../router/src/state.js';

const decision = {
  route: { id: 'things', service: 'catalog', shadow: { writes: 'off', concurrency: 16 } },
  routeId: 'things',
  stage: 'shadow',
  primary: { name: 'monolith' },
  fallback: undefined,
  sample: 100,
} as unknown as Decision;

function mirror(maxPerSecond: number) {
  const drops: string[] = [];
  const recorder = { dropped: (_route: string, reason: string) => drops.push(reason) } as unknown as ParityRecorder;
  const m = new Mirror({
    state: {} as RouterState,
    comparator: inlineComparator(),
    recorder,
    logger: {} as Logger,
    shedAbove: 1,
    maxPerSecond,
  });
  return { m, drops };
}

describe('the mirror’s per-second budget', () => {
  it('mirrors at most a second’s worth at once at sample 100 %, and counts the rest as dropped (rate)', async () => {
    const { m, drops } = mirror(50);
    const taken = Array.from({ length: 200 }, () => m.wants(decision, 'GET', '/things/1', 'none')).filter(Boolean);
    expect(taken.length).toBe(50);
    expect(drops).toHaveLength(150);
    expect(new Set(drops)).toEqual(new Set(['rate']));
    // The budget refills over time: a fifth of a second later, about a fifth of it again.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const later = Array.from({ length: 50 }, () => m.wants(decision, 'GET', '/things/1', 'none')).filter(Boolean);
    expect(later.length).toBeGreaterThanOrEqual(8);
    expect(later.length).toBeLessThanOrEqual(14);
    await m.close();
  });

  it('has no budget at 0', async () => {
    const { m, drops } = mirror(0);
    const taken = Array.from({ length: 2000 }, () => m.wants(decision, 'GET', '/things/1', 'none')).filter(Boolean);
    expect(taken.length).toBe(2000);
    expect(drops).toEqual([]);
    await m.close();
  });
});
