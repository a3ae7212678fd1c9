import type { RouteStage } from '../../../platform/src/flags/features.js';
import type { PromoteRule } from '../../../router/src/route-table/schema.js';
import type { RouteParity } from '../../../router/src/shadow/report.js';

/** Whether a stage change sends more of the route's traffic to the service: only those are gated. */
export function promotes(from: RouteStage, to: RouteStage): boolean {
  const share = (stage: RouteStage) =>
    stage.stage === 'service'
      ? 100
      : stage.stage === 'canary'
        ? (stage.percent ?? 0)
        : stage.stage === 'custom'
          ? -1
          : 0;
  // Custom strategies serve an unknown share: a move into them is gated, one to a stage the service
  // does not serve (a rollback) never is.
  if (to.stage === 'custom' || from.stage === 'custom') return to.stage !== from.stage && share(to) !== 0;
  return share(to) > share(from);
}

export interface GateVerdict {
  pass: boolean;
  /** One line per unmet condition. */
  reasons: string[];
}

const percent = (rate: number) => `${(rate * 100).toFixed(2)} %`;

/** The parity gate on promotion: enough compared samples, and a match rate at or above the bar. */
export function judgePromotion(rule: PromoteRule, parity: RouteParity | undefined): GateVerdict {
  const reasons: string[] = [];
  const compared = parity?.compared ?? 0;
  if (compared < rule.minSamples)
    reasons.push(`${compared} compared samples, ${rule.minSamples} needed (promote.minSamples)`);
  if (parity?.matchRate !== undefined && parity.matchRate < rule.minParity)
    reasons.push(`match rate ${percent(parity.matchRate)}, ${percent(rule.minParity)} needed (promote.minParity)`);
  else if (parity?.matchRate === undefined && rule.minSamples > 0 && compared === 0)
    reasons.push('no shadow comparisons yet: put the route at --stage shadow first');
  return { pass: reasons.length === 0, reasons };
}
