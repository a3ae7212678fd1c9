import { describe, expect, it } from 'vitest';
import { clientFeaturesSchema, serveToggle, stageOf } from '../../../router/src/flags/features.js';
import { parseFlagsFile } from '../../../router/src/flags/file-repository.js';

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
