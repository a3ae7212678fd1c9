/**
 * Which differing fields are real, after learning noise: for idempotent requests the monolith
 * answers twice (primary and secondary), so a field that differs between its own two answers
 * (an id, a timestamp, a token) is noise. A field is flagged only when the candidate's
 * differences clearly exceed the monolith's own, Diffy's rule: more raw than noise differences,
 * a relative gap above 20 % and an absolute gap above 0.03 % of the samples.
 */

export interface FieldCounts {
  /** Samples in which primary and candidate differed at this field. */
  raw: number;
  /** Samples in which primary and secondary differed at this field. */
  noise: number;
}

export interface NoiseThresholds {
  /** (raw − noise) / raw must exceed this; default 0.2. */
  relative?: number;
  /** (raw − noise) / samples must exceed this; default 0.0003. */
  absolute?: number;
}

export type FieldVerdict = 'difference' | 'noise' | 'equal';

/** The verdict on one field out of `samples` compared samples. */
export function judgeField(counts: FieldCounts, samples: number, thresholds: NoiseThresholds = {}): FieldVerdict {
  if (counts.raw === 0) return 'equal';
  const gap = counts.raw - counts.noise;
  const flagged =
    gap > 0 &&
    gap / counts.raw > (thresholds.relative ?? 0.2) &&
    gap / Math.max(samples, 1) > (thresholds.absolute ?? 0.0003);
  return flagged ? 'difference' : 'noise';
}
