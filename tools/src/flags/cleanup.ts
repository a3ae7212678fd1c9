import { shadowFlagOf, stageOf, type Feature } from '../../../platform/src/flags/features.js';
import type { AuditLog, AuditRecord } from './audit.js';

/** What the cleanup needs of a route of the table. */
export interface CleanupRoute {
  id: string;
  flag: string;
  service: string;
  stage?: 'retired' | undefined;
}

/**
 * One flag `ficus flags status` proposes to clean up:
 * - `deletable`: a toggle of a retired route, which the router no longer reads; or the API flag
 *   of a retired module (`module` set), which the monolith no longer reads (its callers can only
 *   call the service);
 * - `stale`: a serve toggle at 100 % (stage service) unchanged for at least the threshold, by
 *   its last audit entry (`basis: audit-entry`) or, with none, by the audit log being older than
 *   the threshold (`basis: before-audit-log`, `unchangedSince` is then the log's first entry);
 * - `undetermined`: at 100 %, but the audit log cannot say since when (`reason`).
 */
export type CleanupFinding =
  | { kind: 'deletable'; route: string; flag: string; service: string; module?: string }
  | {
      kind: 'stale';
      route: string;
      flag: string;
      service: string;
      unchangedSince: string;
      days: number;
      basis: 'audit-entry' | 'before-audit-log';
    }
  | { kind: 'undetermined'; route: string; flag: string; service: string; reason: string };

const day = 86_400_000;

/** The newest entry of `flag`; by time, so entries out of file order (a merged log) still read right. */
function lastEntryOf(entries: readonly AuditRecord[], flag: string): AuditRecord | undefined {
  let last: AuditRecord | undefined;
  for (const entry of entries)
    if (entry.flag === flag && (!last || Date.parse(entry.at) >= Date.parse(last.at))) last = entry;
  return last;
}

/**
 * The flags to clean up, from the route table, the toggles the store holds and the audit log.
 * Pure: `now` is given, so a test sets the clock.
 */
export function findCleanup(input: {
  routes: readonly CleanupRoute[];
  /** The toggles the flag store holds, by name; a name that is missing has no toggle. */
  toggles: ReadonlyMap<string, Feature>;
  /** By service: the module it was extracted from, when `ficus retire` retired it, and its API flag (`ficus.<module>-api`). */
  retiredModules?: ReadonlyMap<string, { module: string; apiFlag: string }>;
  audit: AuditLog;
  staleAfterMs: number;
  /** How the threshold was written (`30d`), for messages. */
  staleAfter: string;
  now: number;
}): CleanupFinding[] {
  const { routes, toggles, audit, staleAfterMs, staleAfter, now } = input;
  const firstAt = audit.entries.reduce((first, e) => Math.min(first, Date.parse(e.at)), Number.POSITIVE_INFINITY);
  const findings: CleanupFinding[] = [];
  for (const route of routes) {
    const about = { route: route.id, flag: route.flag, service: route.service };
    if (route.stage === 'retired') {
      for (const flag of [route.flag, shadowFlagOf(route.flag)])
        if (toggles.has(flag)) findings.push({ kind: 'deletable', ...about, flag });
      continue;
    }
    if (stageOf(toggles.get(route.flag)).stage !== 'service') continue;
    const undetermined = (reason: string) => findings.push({ kind: 'undetermined', ...about, reason });
    const stale = (since: number, basis: 'audit-entry' | 'before-audit-log') => {
      if (now - since < staleAfterMs) return;
      const days = Math.floor((now - since) / day);
      findings.push({ kind: 'stale', ...about, unchangedSince: new Date(since).toISOString(), days, basis });
    };
    const last = lastEntryOf(audit.entries, route.flag);
    if (last) {
      // The log says it went elsewhere last: it reached 100 % outside ficus (the Unleash UI), at a time nobody wrote down.
      if (last.to?.stage !== 'service')
        undetermined(
          `its last audit entry (${last.at}) moved it to ${last.to?.stage ?? 'an unknown stage'}; it reached 100 % ` +
            'outside ficus flags since, at a time the audit log does not know',
        );
      else stale(Date.parse(last.at), 'audit-entry');
    } else if (!audit.exists) undetermined(`no audit log at ${audit.file} to say since when it is at 100 %`);
    else if (audit.entries.length === 0) undetermined(`the audit log ${audit.file} has no entries to say since when`);
    else if (now - firstAt >= staleAfterMs) stale(firstAt, 'before-audit-log');
    else
      undetermined(
        `no audit entry for it, and the audit log only goes back to ${new Date(firstAt).toISOString()}, ` +
          `less than --stale-after ${staleAfter}`,
      );
  }
  for (const [service, retired] of input.retiredModules ?? [])
    if (toggles.has(retired.apiFlag)) {
      const route = routes.find((r) => r.service === service)?.id ?? `${retired.module} API`;
      findings.push({ kind: 'deletable', route, flag: retired.apiFlag, service, module: retired.module });
    }
  return findings;
}

/** How the user gets rid of a toggle, and how they retire a module: given by the command, which knows the store. */
export interface CleanupHints {
  deleteHow: (flags: readonly string[]) => string;
  /** The retire command for the module a service was extracted from. */
  retireCommand: (service: string) => string;
}

/** What to do about one finding: one sentence, the same in the text and the JSON output. */
export function adviceFor(finding: CleanupFinding, hints: CleanupHints): string {
  switch (finding.kind) {
    case 'deletable':
      return finding.module
        ? `delete it: module ${finding.module} is retired, so the monolith calls its service without reading the flag; ${hints.deleteHow([finding.flag])}`
        : `delete it: the router serves a retired route from its service without reading flags; ${hints.deleteHow([finding.flag])}`;
    case 'stale':
      return (
        `once nobody will go back to the monolith, retire the module (${hints.retireCommand(finding.service)}), ` +
        'which marks its routes stage: retired in the route table; then delete the flags. ' +
        'To keep the way back open, leave it: a rollback is still one command'
      );
    case 'undetermined':
      return (
        `to start its clock, set it again: npx ficus flags set ${finding.route} --stage service (audited); ` +
        'or judge its age yourself (on an Unleash server, by its event log)'
      );
  }
}

/** The lines `ficus flags status` prints below the table; none when there is nothing to clean up. */
export function formatCleanup(
  findings: readonly CleanupFinding[],
  audit: AuditLog,
  staleAfter: string,
  hints: CleanupHints,
): string[] {
  const lines: string[] = [];
  if (audit.unreadable > 0)
    lines.push(`note: ${audit.unreadable} line(s) of ${audit.file} are not audit entries and were skipped`);
  if (findings.length === 0) return lines;
  lines.push('', `cleanup (stale: at 100 % and unchanged for --stale-after ${staleAfter} or more):`);
  for (const f of findings) {
    if (f.kind === 'deletable')
      lines.push(
        f.module
          ? `  flag ${f.flag} can be deleted: module ${f.module} is retired (its callers use the service's API)`
          : `  flag ${f.flag} can be deleted: route ${f.route} is retired`,
      );
    else if (f.kind === 'stale')
      lines.push(
        f.basis === 'audit-entry'
          ? `  flag ${f.flag} is stale: route ${f.route} has been at service unchanged since ${f.unchangedSince} (${f.days} days)`
          : `  flag ${f.flag} is stale: route ${f.route} has been at service unchanged since before the audit log began (${f.unchangedSince}, ${f.days} days ago)`,
      );
    else lines.push(`  flag ${f.flag} is at service, but cannot tell for how long: ${f.reason}`);
  }
  const deletable = findings.filter((f) => f.kind === 'deletable');
  lines.push('what to do:');
  if (deletable.length > 0)
    lines.push(
      deletable.some((f) => f.module)
        ? `  - flags of retired routes and modules: nothing reads them any more; ${hints.deleteHow(deletable.map((f) => f.flag))}`
        : `  - flags of retired routes: the router no longer reads them; ${hints.deleteHow(deletable.map((f) => f.flag))}`,
    );
  // One line per service: its stale routes go together, with one retire of its module.
  const staleByService = new Map<string, CleanupFinding[]>();
  for (const f of findings)
    if (f.kind === 'stale') staleByService.set(f.service, [...(staleByService.get(f.service) ?? []), f]);
  for (const [service, stale] of staleByService)
    lines.push(
      `  - stale, service ${service} (${stale.map((f) => f.route).join(', ')}): ${adviceFor(stale[0]!, hints)}`,
    );
  for (const f of findings) if (f.kind === 'undetermined') lines.push(`  - ${f.flag}: ${adviceFor(f, hints)}`);
  return lines;
}
