import { describe, expect, it } from 'vitest';
import {
  clientFeaturesSchema,
  type Feature,
  sampleOf,
  serveToggle,
  shadowFlagOf,
  stageOf,
  stageToggles,
  withSample,
} from '../../../../platform/src/flags/features.js';
import { parseFlagsFile } from '../../../../platform/src/flags/file-repository.js';

const withRollout = (rollout: string) =>
  JSON.stringify({
    version: 2,
    features: [
      {
        name: 'ficus.a',
        enabled: true,
        strategies: [{ name: 'flexibleRollout', parameters: { rollout, stickiness: 'userId', groupId: 'a' } }],
      },
    ],
  });

describe('serve toggles', () => {
  it('reads the stage ficus wrote for each stage back', () => {
    expect(stageOf(serveToggle('ficus.a', 'a', 'monolith', 0, 'userId'))).toEqual({ stage: 'monolith', percent: 0 });
    expect(stageOf(serveToggle('ficus.a', 'a', 'canary', 5, 'userId'))).toEqual({ stage: 'canary', percent: 5 });
    expect(stageOf(serveToggle('ficus.a', 'a', 'service', 100, 'userId'))).toEqual({ stage: 'service', percent: 100 });
  });

  it('refuses rollouts that are not whole percentages from 0 to 100, naming file and field', () => {
    for (const rollout of ['150', '0x64', '1e2', '-5', '50.5', ' 50', 'abc']) {
      expect(() => parseFlagsFile(withRollout(rollout), 'flags.json'), rollout).toThrowError(
        `flags.json: features.0.strategies.0.parameters.rollout: "${rollout}" is not a whole percentage from 0 to 100`,
      );
    }
    for (const rollout of ['0', '7', '50', '100'])
      expect(() => parseFlagsFile(withRollout(rollout), 'flags.json')).not.toThrow();
  });

  it('takes an enabled toggle without strategies as on for everyone, as unleash-client does', () => {
    const parsed = clientFeaturesSchema.parse({ features: [{ name: 'ficus.a', enabled: true }] });
    expect(stageOf(parsed.features[0])).toEqual({ stage: 'service', percent: 100 });
  });
});

describe('stage toggles (serve and shadow)', () => {
  const route = { flag: 'ficus.catalog-read', id: 'catalog-read', stickiness: 'userId' };
  /** The stage the two toggles written for a stage read back as, as `ficus flags status` reads them. */
  const readBack = ([serve, shadow]: [Feature, Feature]) => withSample(stageOf(serve), sampleOf(shadow));

  it('names the shadow toggle beside the serve toggle', () => {
    expect(shadowFlagOf('ficus.catalog-read')).toBe('ficus.catalog-read.shadow');
    const [serve, shadow] = stageToggles(route, 'shadow', 0, 25);
    expect([serve.name, shadow.name]).toEqual(['ficus.catalog-read', 'ficus.catalog-read.shadow']);
  });

  it('writes shadow as a monolith serve toggle plus a sampling shadow toggle, and reads it back', () => {
    const [serve, shadow] = stageToggles(route, 'shadow', 0, 25);
    expect(stageOf(serve)).toEqual({ stage: 'monolith', percent: 0 });
    expect(shadow).toMatchObject({
      enabled: true,
      strategies: [{ name: 'flexibleRollout', parameters: { rollout: '25', stickiness: 'random' } }],
    });
    expect(sampleOf(shadow)).toBe(25);
    expect(readBack([serve, shadow])).toEqual({ stage: 'shadow', percent: 0, sample: 25 });
  });

  it('keeps a canary’s percent beside its sample, and a service’s', () => {
    expect(readBack(stageToggles(route, 'canary', 10, 5))).toEqual({ stage: 'canary', percent: 10, sample: 5 });
    expect(readBack(stageToggles(route, 'service', 100, 1))).toEqual({ stage: 'service', percent: 100, sample: 1 });
  });

  it('reads a stage without sampling as it is, with no sample', () => {
    expect(readBack(stageToggles(route, 'monolith', 0, 0))).toEqual({ stage: 'monolith', percent: 0 });
    expect(readBack(stageToggles(route, 'canary', 30, 0))).toEqual({ stage: 'canary', percent: 30 });
    expect(withSample({ stage: 'custom', percent: undefined }, 0)).toEqual({ stage: 'custom', percent: undefined });
  });

  it('reads no sample from a missing or disabled shadow toggle, and all requests from one without strategies', () => {
    expect(sampleOf(undefined)).toBe(0);
    const [, sampling] = stageToggles(route, 'shadow', 0, 40);
    expect(sampleOf({ ...sampling, enabled: false })).toBe(0);
    expect(sampleOf({ name: 'ficus.a.shadow', enabled: true, strategies: [] })).toBe(100);
  });
});
