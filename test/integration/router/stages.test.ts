import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../tools/src/cli.js';
import { eventually, routeTableYaml, startTestRouter, type TestRouter } from '../../kit/router.js';
import { load, startEchoUpstream, type EchoUpstream } from '../../kit/upstreams.js';

let monolith: EchoUpstream;
let service: EchoUpstream;
let t: TestRouter;

beforeAll(async () => {
  monolith = await startEchoUpstream('monolith');
  service = await startEchoUpstream('catalog');
  t = await startTestRouter(
    routeTableYaml(
      { monolith: monolith.url, catalog: service.url },
      { 'catalog-read': { path: '/api/v1/products/**', service: 'catalog', getOnly: true } },
    ),
  );
});
afterAll(async () => {
  await t.close();
  await monolith.stop();
  await service.stop();
});

/** Which upstream served each of the user ids (50 requests in flight at a time). */
async function sides(userIds: string[]): Promise<Map<string, string>> {
  const served = new Map<string, string>();
  for (let i = 0; i < userIds.length; i += 50) {
    await Promise.all(
      userIds.slice(i, i + 50).map(async (id) => {
        const res = await fetch(`${t.url}/api/v1/products/1`, { headers: { 'x-user-id': id } });
        expect(res.status).toBe(200);
        served.set(id, res.headers.get('x-ficus-upstream')!);
        await res.arrayBuffer();
      }),
    );
  }
  return served;
}

const users = Array.from({ length: 2000 }, (_, i) => `user-${i}`);

describe('route stages driven by the flags file', () => {
  it('stage monolith: every request is served by the monolith', async () => {
    const result = await load(`${t.url}/api/v1/products/7`, { total: 300, concurrency: 20 });
    expect(result.servedBy).toEqual({ monolith: 300 });
    expect(result.statuses).toEqual({ 200: 300 });
    const res = await fetch(`${t.url}/api/v1/products/7`);
    expect(res.headers.get('x-ficus-route')).toBe('catalog-read');
  });

  it('canary 20 %: 20 % ± 3 % of 2,000 users go to the service, each on the same side in 5 repeats', async () => {
    await t.setStage('catalog-read', 'canary', 20);
    await eventually(() => t.router.flags.stage('ficus.catalog-read').stage === 'canary', 2000, 'flags applied');
    const first = await sides(users);
    const share = [...first.values()].filter((side) => side === 'catalog').length / users.length;
    expect(share).toBeGreaterThanOrEqual(0.17);
    expect(share).toBeLessThanOrEqual(0.23);
    for (let repeat = 0; repeat < 4; repeat++) expect(await sides(users)).toEqual(first);
  });

  it('canary: requests without a user id stay on the monolith (stickiness on userId)', async () => {
    const result = await load(`${t.url}/api/v1/products/7`, { total: 200, concurrency: 10 });
    expect(result.servedBy).toEqual({ monolith: 200 });
  });

  it('stage service: every request is served by the service; other paths and methods stay on the monolith', async () => {
    await t.setStage('catalog-read', 'service');
    await eventually(() => t.router.flags.stage('ficus.catalog-read').stage === 'service', 2000, 'flags applied');
    const result = await load(`${t.url}/api/v1/products`, { total: 300, concurrency: 20 });
    expect(result.servedBy).toEqual({ catalog: 300 });
    expect(result.statuses).toEqual({ 200: 300 });
    const post = await fetch(`${t.url}/api/v1/products`, { method: 'POST', body: '{}' });
    expect(post.headers.get('x-ficus-upstream')).toBe('monolith');
    const other = await fetch(`${t.url}/api/v1/orders`);
    expect(other.headers.get('x-ficus-upstream')).toBe('monolith');
    expect(other.headers.get('x-ficus-route')).toBe('default');
  });

  it('`ficus flags rollback` under load: every request succeeds, the switch lands within a second or two, and the audit log says who did it', async () => {
    const ficus = (...args: string[]) =>
      main(['node', 'ficus', 'flags', ...args, '--routes', t.routesFile, '--flags', t.flagsFile], {
        FICUS_ACTOR: 'ops@example.com',
      });
    expect(
      await ficus('set', 'catalog-read', '--stage', 'service', '--force', '--reason', 'flag mechanics under test'),
    ).toBe(0);
    await eventually(() => t.router.flags.stage('ficus.catalog-read').stage === 'service', 2000, 'flags applied');
    const during = load(`${t.url}/api/v1/products/1`, { total: 3000, concurrency: 20 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await ficus('rollback', 'catalog-read')).toBe(0);
    const rolledBackAt = Date.now();
    // The promise is "within a second"; a shared two-core machine under this load gets some slack.
    const took = await eventually(
      async () => {
        const res = await fetch(`${t.url}/api/v1/products/1`);
        await res.arrayBuffer();
        return res.headers.get('x-ficus-upstream') === 'monolith';
      },
      5000,
      'rollback',
    );
    expect(Date.now() - rolledBackAt).toBeLessThan(2000);
    expect(took).toBeLessThan(2000);
    const result = await during;
    expect(result.errors).toBe(0);
    expect(result.statuses).toEqual({ 200: 3000 });
    expect(result.servedBy['monolith']).toBeGreaterThan(0);
    expect(result.servedBy['catalog']).toBeGreaterThan(0);
    const audit = (await readFile(join(t.dir, 'flags-audit.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(audit.slice(-2)).toMatchObject([
      {
        who: 'ops@example.com',
        route: 'catalog-read',
        flag: 'ficus.catalog-read',
        to: { stage: 'service', percent: 100 },
      },
      {
        who: 'ops@example.com',
        route: 'catalog-read',
        from: { stage: 'service', percent: 100 },
        to: { stage: 'monolith', percent: 0 },
      },
    ]);
  });
});
