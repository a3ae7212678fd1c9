import type { IncomingMessage } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../platform/src/index.js';
import type { RouteStage } from '../../../platform/src/flags/features.js';
import type { FlagSource } from '../../../platform/src/flags/flag-source.js';
import { decide, type Decision } from '../../../router/src/decide.js';
import { parseRouteTable } from '../../../router/src/route-table/load.js';
import { RouterState } from '../../../router/src/state.js';

const table = parseRouteTable(
  `
upstreams:
  monolith: { url: "http://127.0.0.1:3000" }
  catalog: { url: "http://127.0.0.1:3101" }
defaultUpstream: monolith
routes:
  - id: old-products
    match: { path: /api/v1/products/** }
    service: catalog
    stage: retired
  - id: reviews
    match: { path: /api/v1/reviews/** }
    service: catalog
`,
  'routes.yaml',
);
const state = new RouterState(table, { logger: createLogger({ level: 'silent', name: 'decide' }) });
afterAll(() => state.close());

/** A flag source holding one stage for every flag, recording which flags it was asked about. */
function flagsAt(stage: RouteStage, enabled = true) {
  const asked: string[] = [];
  const flags = {
    stage: (flag: string) => {
      asked.push(flag);
      return stage;
    },
    isEnabled: (flag: string) => {
      asked.push(flag);
      return enabled;
    },
  } as unknown as FlagSource;
  return { flags, asked };
}

const request = {} as IncomingMessage;
const routeOf = (id: string) => table.routes.find((r) => r.id === id)!;
const decideNow = (flags: FlagSource, id: string) => {
  const decision = decide(state, flags, routeOf(id), request, () => ({ userId: 'u1' }));
  if (decision instanceof Promise) throw new Error('expected a decision without waiting');
  return decision;
};
const summary = (d: Decision) => ({
  stage: d.stage,
  primary: d.primary.name,
  fallback: d.fallback?.name,
  sample: d.sample,
});

describe('the decision for a retired route', () => {
  it.each<[string, RouteStage]>([
    ['monolith', { stage: 'monolith', percent: 0 }],
    ['shadow 100 %', { stage: 'shadow', percent: 0, sample: 100 }],
    ['canary 50 %', { stage: 'canary', percent: 50 }],
    ['service with a rampdown sample', { stage: 'service', percent: 100, sample: 100 }],
  ])(
    'sends every request to its service, with no fallback and nothing mirrored, whatever a leftover toggle says (%s)',
    (_, stage) => {
      const { flags, asked } = flagsAt(stage, false);
      expect(summary(decideNow(flags, 'old-products'))).toEqual({
        stage: 'retired',
        primary: 'catalog',
        fallback: undefined,
        sample: 0,
      });
      expect(asked).toEqual([]);
    },
  );

  it('does not ask a flag source that fails either: a flag problem cannot send it to the monolith', () => {
    const broken = {
      stage: () => {
        throw new Error('flag source down');
      },
      isEnabled: () => {
        throw new Error('flag source down');
      },
    } as unknown as FlagSource;
    expect(decideNow(broken, 'old-products')).toMatchObject({ routeId: 'old-products', stage: 'retired' });
  });

  it('leaves a route without a stage to its flag, with the monolith as its fallback', () => {
    const { flags, asked } = flagsAt({ stage: 'service', percent: 100 });
    expect(summary(decideNow(flags, 'reviews'))).toEqual({
      stage: 'service',
      primary: 'catalog',
      fallback: 'monolith',
      sample: 0,
    });
    expect(asked).toEqual(['ficus.reviews']);
  });
});
