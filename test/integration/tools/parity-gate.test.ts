import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FicusError } from '../../../platform/src/index.js';
import { PgParityStore } from '../../../router/src/shadow/pg-store.js';
import { flagsCommand } from '../../../tools/src/commands/flags.js';
import { createTestDatabase, type TestDatabase } from '../../kit/database.js';
import { freePort } from '../../kit/ports.js';
import { routeTableYaml } from '../../kit/router.js';

describe('the parity gate of ficus flags set', () => {
  let db: TestDatabase;
  let dir: string;
  let routes: string;
  let flags: string;
  let audit: string;
  let closed: string;
  const printed: string[] = [];
  const env = { FICUS_ACTOR: 'tester' };

  /** `ficus flags <args>` in this process, on the temporary route table and flags file. */
  const ficus = (...args: string[]) =>
    flagsCommand(env, (line) => printed.push(line)).parseAsync(
      [...args, '--routes', routes, '--flags', flags, '--audit', audit],
      { from: 'user' },
    );
  const refusal = async (run: Promise<unknown>): Promise<FicusError> => {
    const error = await run.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(FicusError);
    return error as FicusError;
  };
  const auditLines = async () =>
    (await readFile(audit, 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  const status = async () => {
    printed.length = 0;
    await ficus('status', '--json', '--no-probe');
    return JSON.parse(printed.join('\n')) as { routes: Array<Record<string, unknown>> };
  };

  beforeAll(async () => {
    db = await createTestDatabase({ migrate: false });
    dir = await mkdtemp(join(tmpdir(), 'ficus-gate-'));
    routes = join(dir, 'routes.yaml');
    flags = join(dir, 'flags.json');
    audit = join(dir, 'flags-audit.jsonl');
    closed = `http://127.0.0.1:${await freePort()}`;
    await writeFile(
      routes,
      routeTableYaml(
        { monolith: 'http://127.0.0.1:1', catalog: 'http://127.0.0.1:2' },
        {
          things: { path: '/api/things/**', service: 'catalog', getOnly: true },
          loose: { path: '/api/loose/**', service: 'catalog', getOnly: true, extra: '    promote: false' },
          shadowed: { path: '/api/shadowed/**', service: 'catalog', getOnly: true },
          tuned: { path: '/api/tuned/**', service: 'catalog', getOnly: true },
        },
      ),
    );
    // `tuned` has a toggle edited by hand in Unleash: strategies ficus did not write (a stage `custom`).
    const tuned = {
      name: 'ficus.tuned',
      enabled: true,
      strategies: [
        {
          name: 'flexibleRollout',
          parameters: { rollout: '50', stickiness: 'userId', groupId: 'tuned' },
          constraints: [{ contextName: 'userId', operator: 'IN', values: ['u1'] }],
        },
      ],
    };
    await writeFile(flags, `${JSON.stringify({ version: 2, features: [tuned] }, null, 2)}\n`);
    // 100 compared samples of `things` at 90 % match, as routers would have written them.
    const store = new PgParityStore(db.url);
    const minute = Date.now() - (Date.now() % 60_000);
    const endpoint = 'GET /api/things/:id';
    await store.write({
      counts: [
        { route: 'things', endpoint, minute, name: 'match', count: 90 },
        { route: 'things', endpoint, minute, name: 'differ', count: 10 },
      ],
      fields: [
        { route: 'things', endpoint, minute, field: '$.price', kind: 'value', raw: 10, noise: 0, flagged: 10 },
        { route: 'things', endpoint, minute, field: '$.name', kind: 'value', raw: 2, noise: 0, flagged: 2 },
      ],
      examples: [],
    });
    await store.close();
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await db.drop();
  });

  it('refuses a canary below the bar with the numbers and the top difference, and leaves the flags file as it was', async () => {
    const before = await readFile(flags);
    const error = await refusal(ficus('set', 'things', '--stage', 'canary', '--percent', '10', '--database', db.url));
    expect(error.code).toBe('FICUS_ERR_PARITY_GATE');
    expect(error.message).toContain('things stays monolith: its parity is below the bar for canary');
    expect(error.message).toContain('100 compared samples, 500 needed (promote.minSamples)');
    expect(error.message).toContain('match rate 90.00 %, 99.00 % needed (promote.minParity)');
    expect(error.message).toMatch(/top differences:\n\s+\$\.price {2}value {2}10× \(10\.0 % of samples\)\n\s+\$\.name/);
    expect((await readFile(flags)).equals(before)).toBe(true);
    expect(await auditLines()).toEqual([]);
  });

  it('goes on with --force --reason, and the audit line says it was forced and why', async () => {
    await ficus(
      'set',
      'things',
      '--stage',
      'canary',
      '--percent',
      '10',
      '--database',
      db.url,
      '--force',
      '--reason',
      'checked by hand',
    );
    const [line] = await auditLines();
    expect(line).toMatchObject({
      who: 'tester',
      route: 'things',
      from: { stage: 'monolith', percent: 0 },
      to: { stage: 'canary', percent: 10 },
      parity: { compared: 100, matchRate: 0.9, minParity: 0.99, minSamples: 500 },
      forced: { reason: 'checked by hand' },
    });
    expect((line!['forced'] as { unmet: string[] }).unmet).toHaveLength(2);
    expect((await status()).routes.find((r) => r['route'] === 'things')).toMatchObject({
      stage: 'canary',
      percent: 10,
    });
  });

  it('never gates a rollback, even with no parity source that answers', async () => {
    const lines = (await auditLines()).length;
    const offline = { ...env, ROUTER_ADMIN_URL: closed };
    await flagsCommand(offline, (line) => printed.push(line)).parseAsync(
      ['rollback', 'things', '--routes', routes, '--flags', flags, '--audit', audit],
      { from: 'user' },
    );
    const last = (await auditLines())[lines];
    expect(last).toMatchObject({ from: { stage: 'canary', percent: 10 }, to: { stage: 'monolith', percent: 0 } });
    expect(last).not.toHaveProperty('parity');
    expect(last).not.toHaveProperty('forced');
  });

  it('never gates a rollback from strategies ficus did not write', async () => {
    expect((await status()).routes.find((r) => r['route'] === 'tuned')).toMatchObject({ stage: 'custom' });
    await flagsCommand({ ...env, ROUTER_ADMIN_URL: closed }, (line) => printed.push(line)).parseAsync(
      ['rollback', 'tuned', '--routes', routes, '--flags', flags, '--audit', audit],
      { from: 'user' },
    );
    expect((await auditLines()).at(-1)).toMatchObject({ from: { stage: 'custom' }, to: { stage: 'monolith' } });
  });

  it('does not gate a route with promote: false', async () => {
    await ficus('set', 'loose', '--stage', 'service', '--admin', closed);
    expect((await status()).routes.find((r) => r['route'] === 'loose')).toMatchObject({ stage: 'service' });
    expect((await auditLines()).at(-1)).not.toHaveProperty('parity');
  });

  it('writes the shadow toggle for --stage shadow --sample 25, and status shows it', async () => {
    await ficus('set', 'shadowed', '--stage', 'shadow', '--sample', '25', '--admin', closed);
    const written = JSON.parse(await readFile(flags, 'utf8')) as {
      features: Array<{ name: string; enabled: boolean; strategies: Array<{ parameters: Record<string, string> }> }>;
    };
    const toggle = written.features.find((f) => f.name === 'ficus.shadowed.shadow');
    expect(toggle).toMatchObject({ enabled: true, strategies: [{ parameters: { rollout: '25' } }] });
    expect((await status()).routes.find((r) => r['route'] === 'shadowed')).toMatchObject({
      stage: 'shadow',
      percent: 0,
      sample: 25,
    });
  });

  it('refuses a promotion when the parity source is down, saying so, unless forced', async () => {
    const before = await readFile(flags);
    const error = await refusal(ficus('set', 'shadowed', '--stage', 'canary', '--percent', '5', '--admin', closed));
    expect(error.code).toBe('FICUS_ERR_PARITY_GATE');
    expect(error.message).toContain(`no router admin API answers at ${closed} (ECONNREFUSED)`);
    expect((await readFile(flags)).equals(before)).toBe(true);
    await ficus(
      'set',
      'shadowed',
      '--stage',
      'canary',
      '--percent',
      '5',
      '--admin',
      closed,
      '--force',
      '--reason',
      'store down',
    );
    const last = (await auditLines()).at(-1)!;
    expect(last).toMatchObject({
      from: { stage: 'shadow', sample: 25 },
      to: { stage: 'canary', percent: 5 },
      forced: { reason: 'store down' },
    });
    expect((last['forced'] as { unmet: string[] }).unmet[0]).toContain('no router admin API answers');
  });
});
