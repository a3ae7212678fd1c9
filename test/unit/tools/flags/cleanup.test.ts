import { describe, expect, it } from 'vitest';
import { stageToggles, type Feature } from '../../../../platform/src/flags/features.js';
import type { AuditLog, AuditRecord } from '../../../../tools/src/flags/audit.js';
import { findCleanup, formatCleanup, type CleanupRoute } from '../../../../tools/src/flags/cleanup.js';

const day = 86_400_000;
/** The fake clock: every time in these tests is days before it. */
const now = Date.parse('2025-06-30T12:00:00.000Z');
const daysAgo = (days: number) => new Date(now - days * day).toISOString();

const route = (id: string, stage?: 'retired'): CleanupRoute => ({ id, flag: `ficus.${id}`, service: 'catalog', stage });

/** The toggles `ficus flags set` writes for these routes at these stages. */
function toggles(stages: Record<string, 'monolith' | 'canary' | 'service'>, sampled: string[] = []) {
  const map = new Map<string, Feature>();
  for (const [id, stage] of Object.entries(stages)) {
    const sample = sampled.includes(id) ? 10 : 0;
    const [serve, shadow] = stageToggles(
      { id, flag: `ficus.${id}`, stickiness: 'userId' },
      stage,
      { monolith: 0, canary: 10, service: 100 }[stage],
      sample,
    );
    map.set(serve.name, serve);
    if (sampled.includes(id)) map.set(shadow.name, shadow);
  }
  return map;
}

const entry = (flag: string, at: string, stage = 'service'): AuditRecord => ({ at, flag, to: { stage } });
const log = (entries: AuditRecord[], exists = true): AuditLog => ({
  file: 'router/flags-audit.jsonl',
  exists,
  entries,
  unreadable: 0,
});

const find = (routes: CleanupRoute[], held: Map<string, Feature>, audit: AuditLog, staleAfterDays = 30) =>
  findCleanup({
    routes,
    toggles: held,
    audit,
    staleAfterMs: staleAfterDays * day,
    staleAfter: `${staleAfterDays}d`,
    now,
  });

describe('the cleanup report of ficus flags status', () => {
  it('lists the serve and shadow toggles a retired route left behind, and nothing for one without toggles', () => {
    const findings = find(
      [route('old-read', 'retired'), route('gone', 'retired')],
      toggles({ 'old-read': 'service' }, ['old-read']),
      log([]),
    );
    expect(findings).toEqual([
      { kind: 'deletable', route: 'old-read', flag: 'ficus.old-read', service: 'catalog' },
      { kind: 'deletable', route: 'old-read', flag: 'ficus.old-read.shadow', service: 'catalog' },
    ]);
  });

  it('calls a flag at 100 % stale once its last audit entry is as old as --stale-after, not a moment before', () => {
    const held = toggles({ a: 'service', b: 'service', c: 'service' });
    const audit = log([
      entry('ficus.a', daysAgo(90), 'canary'),
      entry('ficus.a', daysAgo(45)),
      entry('ficus.b', daysAgo(30)),
      entry('ficus.c', new Date(now - 30 * day + 1).toISOString()),
    ]);
    expect(find([route('a'), route('b'), route('c')], held, audit)).toEqual([
      {
        kind: 'stale',
        route: 'a',
        flag: 'ficus.a',
        service: 'catalog',
        unchangedSince: daysAgo(45),
        days: 45,
        basis: 'audit-entry',
      },
      {
        kind: 'stale',
        route: 'b',
        flag: 'ficus.b',
        service: 'catalog',
        unchangedSince: daysAgo(30),
        days: 30,
        basis: 'audit-entry',
      },
    ]);
    expect(find([route('a')], held, audit, 46)).toEqual([]);
  });

  it('reads the newest entry by time, not by line: a log merged out of order still says the right age', () => {
    const audit = log([entry('ficus.a', daysAgo(2)), entry('ficus.a', daysAgo(60))]);
    expect(find([route('a')], toggles({ a: 'service' }), audit)).toEqual([]);
  });

  it('leaves out flags below 100 %: monolith and canary are not stale, however old', () => {
    const audit = log([entry('ficus.m', daysAgo(400), 'monolith'), entry('ficus.c', daysAgo(400), 'canary')]);
    expect(find([route('m'), route('c'), route('none')], toggles({ m: 'monolith', c: 'canary' }), audit)).toEqual([]);
  });

  it('with no entry for the flag: stale since before the audit log when the log is older than the threshold', () => {
    const audit = log([entry('ficus.other', daysAgo(40)), entry('ficus.other', daysAgo(3))]);
    expect(find([route('a')], toggles({ a: 'service' }), audit)).toEqual([
      {
        kind: 'stale',
        route: 'a',
        flag: 'ficus.a',
        service: 'catalog',
        unchangedSince: daysAgo(40),
        days: 40,
        basis: 'before-audit-log',
      },
    ]);
  });

  it('with no entry for the flag and a younger log, or no log at all, says it cannot tell', () => {
    const young = find([route('a')], toggles({ a: 'service' }), log([entry('ficus.other', daysAgo(10))]));
    expect(young).toEqual([
      expect.objectContaining({
        kind: 'undetermined',
        flag: 'ficus.a',
        reason: `no audit entry for it, and the audit log only goes back to ${daysAgo(10)}, less than --stale-after 30d`,
      }),
    ]);
    const none = find([route('a')], toggles({ a: 'service' }), log([], false));
    expect(none).toEqual([
      expect.objectContaining({
        kind: 'undetermined',
        reason: 'no audit log at router/flags-audit.jsonl to say since when it is at 100 %',
      }),
    ]);
    const empty = find([route('a')], toggles({ a: 'service' }), log([]));
    expect(empty).toEqual([
      expect.objectContaining({ kind: 'undetermined', reason: expect.stringContaining('no entries') }),
    ]);
  });

  it('says it cannot tell when the last entry moved the flag elsewhere: it reached 100 % outside ficus', () => {
    const findings = find([route('a')], toggles({ a: 'service' }), log([entry('ficus.a', daysAgo(50), 'canary')]));
    expect(findings).toEqual([
      expect.objectContaining({ kind: 'undetermined', reason: expect.stringContaining('moved it to canary') }),
    ]);
  });

  it("lists a retired module's API flag, which the monolith no longer reads, and no API flag of a module still there", () => {
    const apiFlag = (module: string): Feature => ({
      name: `ficus.${module}-api`,
      enabled: true,
      type: 'operational',
      strategies: [{ name: 'default', parameters: {}, constraints: [] }],
    });
    const held = new Map([...toggles({ 'catalog-read': 'service' }), ['ficus.catalog-api', apiFlag('catalog')]]);
    const args = {
      routes: [route('catalog-read', 'retired')],
      toggles: held,
      audit: log([]),
      staleAfterMs: 30 * day,
      staleAfter: '30d',
      now,
    };
    const findings = findCleanup({
      ...args,
      retiredModules: new Map([['catalog', { module: 'catalog', apiFlag: 'ficus.catalog-api' }]]),
    });
    expect(findings).toEqual([
      { kind: 'deletable', route: 'catalog-read', flag: 'ficus.catalog-read', service: 'catalog' },
      { kind: 'deletable', route: 'catalog-read', flag: 'ficus.catalog-api', service: 'catalog', module: 'catalog' },
    ]);
    expect(
      formatCleanup(findings, log([]), '30d', {
        deleteHow: (flags) => `remove ${flags.join(', ')} from router/flags.json`,
        retireCommand: () => '',
      }),
    ).toEqual([
      '',
      'cleanup (stale: at 100 % and unchanged for --stale-after 30d or more):',
      '  flag ficus.catalog-read can be deleted: route catalog-read is retired',
      "  flag ficus.catalog-api can be deleted: module catalog is retired (its callers use the service's API)",
      'what to do:',
      '  - flags of retired routes and modules: nothing reads them any more; remove ficus.catalog-read, ficus.catalog-api from router/flags.json',
    ]);
    // Routes marked retired by hand, the module still composed: its API flag still decides, so it stays.
    expect(findCleanup({ ...args, retiredModules: new Map() }).map((f) => f.flag)).toEqual(['ficus.catalog-read']);
  });

  it('prints each finding and what to do about it: delete the toggles, or retire the module', () => {
    const findings = find(
      [route('old-read', 'retired'), route('catalog-write'), route('catalog-search')],
      toggles({ 'old-read': 'monolith', 'catalog-write': 'service', 'catalog-search': 'service' }),
      log([entry('ficus.catalog-write', daysAgo(45)), entry('ficus.catalog-search', daysAgo(31))]),
    );
    const lines = formatCleanup(findings, log([]), '30d', {
      deleteHow: (flags) => `remove ${flags.join(', ')} from router/flags.json`,
      retireCommand: (service) => `npx ficus retire ${service}`,
    });
    expect(lines).toEqual([
      '',
      'cleanup (stale: at 100 % and unchanged for --stale-after 30d or more):',
      '  flag ficus.old-read can be deleted: route old-read is retired',
      `  flag ficus.catalog-write is stale: route catalog-write has been at service unchanged since ${daysAgo(45)} (45 days)`,
      `  flag ficus.catalog-search is stale: route catalog-search has been at service unchanged since ${daysAgo(31)} (31 days)`,
      'what to do:',
      '  - flags of retired routes: the router no longer reads them; remove ficus.old-read from router/flags.json',
      expect.stringMatching(
        /^ {2}- stale, service catalog \(catalog-write, catalog-search\): once nobody will go back to the monolith, retire the module \(npx ficus retire catalog\)/,
      ),
    ]);
    expect(formatCleanup([], log([]), '30d', { deleteHow: () => '', retireCommand: () => '' })).toEqual([]);
  });
});
