import type { Difference } from './compare.js';
import { judgeField } from './noise.js';
import type { ParityData } from './store.js';

export interface FieldReport {
  field: string;
  kind: Difference['kind'];
  /** Samples where primary and candidate differed here. */
  raw: number;
  /** Samples where the serving upstream's own two answers differed here. */
  noise: number;
  /** Samples counted as differing because of this field. */
  flagged: number;
  endpoints: string[];
  examples: string[];
}

export interface RouteParity {
  route: string;
  /** Compared samples: match + differ. */
  compared: number;
  match: number;
  differ: number;
  failed: number;
  dropped: number;
  skipped: number;
  /** Compared by length and hash only (bodies over the copy limit). */
  byHash: number;
  /** Samples with a second answer from the serving upstream, which noise is learned from. */
  noiseSamples: number;
  /** match / compared; undefined with nothing compared. */
  matchRate: number | undefined;
  /** 95 % Wilson score interval of the match rate. */
  interval: [number, number] | undefined;
  endpoints: Array<{ endpoint: string; compared: number; match: number }>;
  /** Fields that differ more than noise explains, most samples first. */
  differences: FieldReport[];
  /** Fields that differ on their own in the serving upstream's answers: learned as noise, not reported. */
  noise: FieldReport[];
}

/** The 95 % Wilson score interval of `successes` out of `n` (sound near 0 and 1, unlike the normal one). */
export function wilson(successes: number, n: number, z = 1.96): [number, number] | undefined {
  if (n === 0) return undefined;
  const p = successes / n;
  const denominator = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / denominator;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/** Parity per route from a store's totals: match rate, its interval, differing fields and learned noise. */
export function buildReport(data: ParityData): RouteParity[] {
  const routes = new Map<string, RouteParity>();
  const routeOf = (route: string) => {
    let report = routes.get(route);
    if (!report)
      routes.set(
        route,
        (report = {
          route,
          compared: 0,
          match: 0,
          differ: 0,
          failed: 0,
          dropped: 0,
          skipped: 0,
          byHash: 0,
          noiseSamples: 0,
          matchRate: undefined,
          interval: undefined,
          endpoints: [],
          differences: [],
          noise: [],
        }),
      );
    return report;
  };
  const endpoints = new Map<string, { endpoint: string; compared: number; match: number }>();
  for (const row of data.counts) {
    const report = routeOf(row.route);
    const name = row.name === 'by-hash' ? 'byHash' : row.name === 'noise-samples' ? 'noiseSamples' : row.name;
    if (name in report && typeof report[name as keyof RouteParity] === 'number')
      (report as unknown as Record<string, number>)[name]! += row.count;
    if (row.name === 'match' || row.name === 'differ') {
      const key = `${row.route}\u0000${row.endpoint}`;
      let endpoint = endpoints.get(key);
      if (!endpoint) {
        endpoints.set(key, (endpoint = { endpoint: row.endpoint, compared: 0, match: 0 }));
        report.endpoints.push(endpoint);
      }
      endpoint.compared += row.count;
      if (row.name === 'match') endpoint.match += row.count;
    }
  }
  const fields = new Map<string, FieldReport & { route: string }>();
  for (const row of data.fields) {
    const key = `${row.route}\u0000${row.field}\u0000${row.kind}`;
    let field = fields.get(key);
    if (!field)
      fields.set(
        key,
        (field = {
          route: row.route,
          field: row.field,
          kind: row.kind,
          raw: 0,
          noise: 0,
          flagged: 0,
          endpoints: [],
          examples: [],
        }),
      );
    field.raw += row.raw;
    field.noise += row.noise;
    field.flagged += row.flagged;
    if (!field.endpoints.includes(row.endpoint)) field.endpoints.push(row.endpoint);
  }
  for (const example of data.examples) {
    const field = fields.get(`${example.route}\u0000${example.field}\u0000${example.kind}`);
    if (field && field.examples.length < 3) field.examples.push(example.id);
  }
  for (const report of routes.values()) {
    report.compared = report.match + report.differ;
    report.matchRate = report.compared ? report.match / report.compared : undefined;
    report.interval = wilson(report.match, report.compared);
    report.endpoints.sort((a, b) => b.compared - a.compared);
  }
  for (const { route, ...field } of fields.values()) {
    const report = routeOf(route);
    const verdict = judgeField(field, report.compared);
    if (verdict === 'difference' || (field.flagged > 0 && field.noise === 0)) report.differences.push(field);
    else if (field.noise > 0) report.noise.push(field);
  }
  for (const report of routes.values()) {
    report.differences.sort((a, b) => b.flagged - a.flagged || b.raw - a.raw);
    report.noise.sort((a, b) => b.noise - a.noise);
  }
  return [...routes.values()].sort((a, b) => a.route.localeCompare(b.route));
}
