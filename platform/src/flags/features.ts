import { z } from 'zod';

/**
 * Unleash's client-features format (what `GET /api/client/features` returns), the format of
 * the local flags file. Validated before use: a file that fails keeps the last good flags.
 */
/** Whole percentages only: unleash-client reads "150" or "0x64" as 100 %, so they are refused, not guessed. */
const percentage = /^(100|[1-9]?[0-9])$/;
const percentParameters = ['rollout', 'percentage'];

const strategySchema = z
  .looseObject({
    name: z.string().min(1),
    parameters: z.record(z.string(), z.union([z.string(), z.number()]).transform(String)).optional(),
    constraints: z.array(z.looseObject({ contextName: z.string(), operator: z.string() })).optional(),
    segments: z.array(z.number()).optional(),
  })
  .superRefine((strategy, ctx) => {
    for (const name of percentParameters) {
      const value = strategy.parameters?.[name];
      if (value !== undefined && !percentage.test(value)) {
        ctx.addIssue({
          code: 'custom',
          path: ['parameters', name],
          message: `"${value}" is not a whole percentage from 0 to 100`,
        });
      }
    }
  });

export const featureSchema = z.looseObject({
  name: z.string().min(1),
  enabled: z.boolean(),
  strategies: z.array(strategySchema).default([]),
  type: z.string().optional(),
  project: z.string().optional(),
  stale: z.boolean().optional(),
  impressionData: z.boolean().optional(),
  variants: z.array(z.unknown()).optional(),
});

export const clientFeaturesSchema = z.looseObject({
  version: z.number().int().default(2),
  features: z.array(featureSchema),
  segments: z.array(z.looseObject({ id: z.number(), constraints: z.array(z.unknown()) })).optional(),
});

export type Feature = z.output<typeof featureSchema>;
export type ClientFeatures = z.output<typeof clientFeaturesSchema>;

export type Stage = 'monolith' | 'shadow' | 'canary' | 'service';

/** What a serve toggle means for its route. `custom`: strategies ficus did not write; unleash-client decides. */
export interface RouteStage {
  stage: Stage | 'custom';
  /** Share of users the service serves, 0..100 (canary); undefined for custom. */
  percent: number | undefined;
  /** Share of requests mirrored to the other upstream and compared, 0..100 (the shadow toggle). */
  sample?: number;
}

/**
 * The toggle that says which implementation of an extracted module's API the monolith calls:
 * on, the service's over HTTP (`ficus data cutover` turns it on); off or missing, its own.
 */
export const apiFlagOf = (module: string) => `ficus.${module}-api`;

/** The shadow toggle of a route beside its serve toggle `flag`: its rollout is the sample rate. */
export const shadowFlagOf = (flag: string) => `${flag}.shadow`;

/** The sample rate a shadow toggle sets: its one flexibleRollout's rollout when enabled, else 0. */
export function sampleOf(feature: Feature | undefined): number {
  if (!feature?.enabled) return 0;
  const rollout = Number(feature.strategies[0]?.parameters?.['rollout'] ?? 100);
  return Number.isFinite(rollout) ? Math.min(100, Math.max(0, rollout)) : 0;
}

/**
 * A route's stage from its two toggles: a route the serve toggle leaves on the monolith while
 * its shadow toggle samples is at `shadow`; at the other stages the sample says how much of the
 * traffic is compared (the monolith-served share of a canary; the service's answers at service).
 */
export function withSample(serve: RouteStage, sample: number): RouteStage {
  if (sample <= 0) return serve;
  return serve.stage === 'monolith' ? { stage: 'shadow', percent: 0, sample } : { ...serve, sample };
}

/** The shadow toggle ficus writes: sampled at random per request, not per user. */
function shadowToggle(flag: string, routeId: string, sample: number): Feature {
  return {
    name: shadowFlagOf(flag),
    enabled: sample > 0,
    type: 'operational',
    strategies: [
      {
        name: 'flexibleRollout',
        parameters: { rollout: String(sample), stickiness: 'random', groupId: `${routeId}-shadow` },
        constraints: [],
      },
    ],
  };
}

/**
 * Reads the stage off a serve toggle: off → monolith; one unconstrained flexibleRollout at
 * 100 % → service; at 1..99 % → canary. Anything else (constraints, other strategies) is
 * `custom` and is always evaluated by unleash-client.
 */
export function stageOf(feature: Feature | undefined): RouteStage {
  if (!feature?.enabled) return { stage: 'monolith', percent: 0 };
  const [strategy, ...others] = feature.strategies;
  if (!strategy) return { stage: 'service', percent: 100 };
  if (
    others.length > 0 ||
    strategy.name !== 'flexibleRollout' ||
    (strategy.constraints?.length ?? 0) > 0 ||
    (strategy.segments?.length ?? 0) > 0
  ) {
    return { stage: 'custom', percent: undefined };
  }
  const percent = Number(strategy.parameters?.['rollout'] ?? 100);
  if (!Number.isFinite(percent)) return { stage: 'custom', percent: undefined };
  if (percent <= 0) return { stage: 'monolith', percent: 0 };
  if (percent >= 100) return { stage: 'service', percent: 100 };
  return { stage: 'canary', percent };
}

/** The serve toggle ficus writes for a stage: a flexibleRollout sticky on `stickiness`, grouped by route id. */
export function serveToggle(
  flag: string,
  routeId: string,
  stage: Exclude<Stage, 'shadow'>,
  percent: number,
  stickiness: string,
): Feature {
  const rollout = stage === 'service' ? 100 : stage === 'canary' ? percent : 0;
  return {
    name: flag,
    enabled: stage !== 'monolith',
    type: 'release',
    strategies: [
      {
        name: 'flexibleRollout',
        parameters: { rollout: String(rollout), stickiness, groupId: routeId },
        constraints: [],
      },
    ],
  };
}

/**
 * The toggles a route's stage is written as: its serve toggle (monolith, canary %, service) and
 * its shadow toggle (the sample rate; `shadow` is the monolith serving with a sample).
 */
export function stageToggles(
  route: { flag: string; id: string; stickiness: string },
  stage: Stage,
  percent: number,
  sample: number,
): [Feature, Feature] {
  const serving = stage === 'shadow' ? 'monolith' : stage;
  return [
    serveToggle(route.flag, route.id, serving, percent, route.stickiness),
    shadowToggle(route.flag, route.id, sample),
  ];
}
