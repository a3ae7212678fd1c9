import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stageToggles } from '../../../platform/src/flags/features.js';
import { flagSwitch } from '../../../tools/src/data/writer-switch.js';
import { FileFlagStore } from '../../../tools/src/flags/flag-store.js';
import { main } from '../../../tools/src/cli.js';
import { captureCliOutput } from '../../kit/cli.js';
import { routeTableYaml } from '../../kit/router.js';

/** `main` in this process, its output captured: exit codes and messages as a user sees them. */
const cli = captureCliOutput();

const day = 86_400_000;
const daysAgo = (days: number) => new Date(Date.now() - days * day).toISOString();

let dir: string;
let routes: string;
let flags: string;
let audit: string;
const ficus = (...args: string[]) =>
  main(['node', 'ficus', 'flags', ...args, '--routes', routes, '--flags', flags], {});

/**
 * `old-read` is retired with both its toggles left in the flags file; `catalog-write` has been at
 * service for 40 days by the audit log, `orders-read` for 2.
 */
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ficus-retired-'));
  routes = join(dir, 'routes.yaml');
  flags = join(dir, 'flags.json');
  audit = join(dir, 'flags-audit.jsonl');
  await writeFile(
    routes,
    routeTableYaml(
      { monolith: 'http://127.0.0.1:1', catalog: 'http://127.0.0.1:2' },
      {
        'old-read': { path: '/api/v1/products/**', service: 'catalog', getOnly: true, extra: '    stage: retired' },
        'catalog-write': { path: '/api/v1/products/**', service: 'catalog' },
        'orders-read': { path: '/api/v1/orders/**', service: 'catalog' },
      },
    ),
  );
  const store = new FileFlagStore(flags);
  const route = (id: string) => ({ id, flag: `ficus.${id}`, stickiness: 'userId' });
  for (const toggle of stageToggles(route('old-read'), 'service', 100, 10)) await store.put(toggle);
  await store.put(stageToggles(route('catalog-write'), 'service', 100, 0)[0]);
  await store.put(stageToggles(route('orders-read'), 'service', 100, 0)[0]);
  const entry = (flag: string, at: string, stage: string) =>
    JSON.stringify({ at, who: 'ops', route: flag.slice(6), flag, from: {}, to: { stage, percent: 100 }, store: 'x' });
  await writeFile(
    audit,
    [
      entry('ficus.catalog-write', daysAgo(50), 'canary'),
      entry('ficus.catalog-write', daysAgo(40), 'service'),
      entry('ficus.orders-read', daysAgo(2), 'service'),
      '',
    ].join('\n'),
  );
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('ficus flags status with a retired route', () => {
  it('shows the route as retired, its leftover toggles as deletable and a flag 40 days at 100 % as stale, with what to do', async () => {
    expect(await ficus('status', '--no-probe')).toBe(0);
    expect(cli.output()).toMatch(/^old-read +\/api\/v1\/products\/\*\* +catalog +retired +ficus\.old-read /m);
    expect(cli.output()).toContain('flag ficus.old-read can be deleted: route old-read is retired');
    expect(cli.output()).toContain('flag ficus.old-read.shadow can be deleted: route old-read is retired');
    expect(cli.output()).toMatch(
      /flag ficus\.catalog-write is stale: route catalog-write has been at service unchanged since \S+ \(40 days\)/,
    );
    expect(cli.output()).not.toContain('ficus.orders-read is stale');
    expect(cli.output()).toContain(`remove "ficus.old-read", "ficus.old-read.shadow" from the features of ${flags}`);
    // services/catalog/service.json of this repository names the module.
    expect(cli.output()).toContain('retire the module (npx ficus retire catalog)');
  });

  it('puts the same findings, with their advice, in --json', async () => {
    expect(await ficus('status', '--no-probe', '--json')).toBe(0);
    const report = JSON.parse(cli.output()) as {
      routes: Array<{ route: string; stage: string }>;
      cleanup: { staleAfter: string; findings: Array<Record<string, unknown>> };
    };
    expect(report.routes.find((r) => r.route === 'old-read')).toMatchObject({ stage: 'retired', percent: 100 });
    expect(report.cleanup.staleAfter).toBe('30d');
    expect(report.cleanup.findings).toEqual([
      expect.objectContaining({ kind: 'deletable', flag: 'ficus.old-read', route: 'old-read' }),
      expect.objectContaining({ kind: 'deletable', flag: 'ficus.old-read.shadow', route: 'old-read' }),
      expect.objectContaining({
        kind: 'stale',
        flag: 'ficus.catalog-write',
        days: 40,
        basis: 'audit-entry',
        advice: expect.stringContaining('npx ficus retire catalog'),
      }),
    ]);
  });

  it('takes the threshold from --stale-after, and refuses a duration it cannot read', async () => {
    expect(await ficus('status', '--no-probe', '--json', '--stale-after', '60d')).toBe(0);
    expect((JSON.parse(cli.output()) as { cleanup: { findings: Array<{ kind: string }> } }).cleanup.findings).toEqual([
      expect.objectContaining({ kind: 'deletable' }),
      expect.objectContaining({ kind: 'deletable' }),
    ]);
    expect(await ficus('status', '--no-probe', '--stale-after', 'a month')).toBe(2);
    expect(cli.output()).toContain(
      "option '--stale-after <duration>' argument 'a month' is invalid. Use a duration such as",
    );
  });
});

describe('ficus flags set and rollback on a retired route', () => {
  it.each([
    [['set', 'old-read', '--stage', 'monolith'], 'cannot set old-read to monolith'],
    [['set', 'old-read', '--stage', 'service'], 'cannot set old-read to service'],
    [['rollback', 'old-read'], 'cannot set old-read to monolith'],
  ])('ficus flags %j refuses, naming the route table, and changes nothing', async (args, attempt) => {
    const before = [await readFile(flags, 'utf8'), await readFile(audit, 'utf8')];
    expect(await ficus(...args)).toBe(1);
    expect(cli.output()).toContain(
      `ficus: FICUS_ERR_ROUTE_RETIRED: ${attempt}: route old-read is retired in ${routes} (stage: retired)`,
    );
    expect(cli.output()).toContain('the monolith no longer has its module, there is nothing to set it back to');
    expect([await readFile(flags, 'utf8'), await readFile(audit, 'utf8')]).toEqual(before);
  });

  it('--stage retired is a usage error that points at ficus retire', async () => {
    expect(await ficus('set', 'catalog-write', '--stage', 'retired')).toBe(2);
    expect(cli.output()).toContain(
      "option '--stage <stage>' argument 'retired' is invalid. retired is not a flag stage",
    );
    expect(cli.output()).toContain('npx ficus retire <module>');
  });

  it('ficus data revert and cutover refuse a module whose write route is retired, before anything moves', async () => {
    const untouched = join(dir, 'untouched.json');
    const switchIn = (routesFile: string, toService: boolean) => () =>
      flagSwitch({
        store: new FileFlagStore(untouched),
        routesFile,
        flagsFile: untouched,
        env: {},
        module: 'catalog',
        service: 'catalog',
        toService,
      });
    expect(switchIn(routes, false)).not.toThrow();
    // With its write route retired too, the module is gone from the monolith.
    const retiredWrites = join(dir, 'routes-retired.yaml');
    const text = await readFile(routes, 'utf8');
    await writeFile(retiredWrites, text.replace('  - id: orders-read', '    stage: retired\n  - id: orders-read'));
    for (const toService of [false, true])
      expect(switchIn(retiredWrites, toService)).toThrowError(
        `ficus data ${toService ? 'cutover' : 'revert'} catalog: route catalog-write is retired in ${retiredWrites}`,
      );
    expect(existsSync(untouched)).toBe(false);
  });
});
