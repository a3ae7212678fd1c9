import { createHash, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, verifyShadowRequest } from '../../../platform/src/index.js';
import { inlineComparator } from '../../../router/src/shadow/comparator.js';
import { PgParityStore } from '../../../router/src/shadow/pg-store.js';
import { readExchanges } from '../../../tools/src/replay/read-exchanges.js';
import { replay } from '../../../tools/src/replay/replay.js';
import { buildReport, type RouteParity } from '../../../router/src/shadow/report.js';
import { freePort } from '../../kit/ports.js';
import { eventually, routeTableYaml, routerForms, startRouterForm, type FormRouter } from '../../kit/router.js';
import {
  load,
  misbehave,
  startScriptedUpstream,
  type Misbehaviour,
  type ScriptedUpstream,
} from '../../kit/upstreams.js';

const secret = 'a-shadow-secret-of-at-least-32-characters';

/** A product as the monolith answers it: a fresh request id and timestamp in every answer. */
const product = (id: string, price: number) =>
  JSON.stringify({
    id,
    name: `thing ${id}`,
    price,
    tags: ['a', 'b'],
    requestId: randomUUID(),
    at: new Date().toISOString(),
  });

async function parityOf(t: FormRouter, route: string): Promise<RouteParity | undefined> {
  await t.shadow.recorder.flush();
  return buildReport(await t.shadow.recorder.store.read({ route }))[0];
}

/** Puts a route at stage shadow with a 100 % sample, once the router has applied it. */
async function shadowEverything(t: FormRouter, route: string): Promise<void> {
  await t.setStage(route, 'shadow', 0, 100);
  await eventually(() => t.flags.stage(`ficus.${route}`).stage === 'shadow', 2000, `${route} at stage shadow`);
}

async function settled(t: FormRouter, route: string, samples: number): Promise<RouteParity> {
  await eventually(
    async () => {
      const p = await parityOf(t, route);
      return (p?.compared ?? 0) + (p?.failed ?? 0) + (p?.dropped ?? 0) + (p?.skipped ?? 0) >= samples;
    },
    20_000,
    `${samples} samples recorded`,
  );
  return (await parityOf(t, route))!;
}

// One suite, both forms of the router: shadow traffic goes through the one routing core.
describe.each(routerForms)('shadow traffic through the %s router', (form) => {
  let monolith: ScriptedUpstream;
  let candidate: ScriptedUpstream;
  let t: FormRouter;

  beforeAll(async () => {
    monolith = await startScriptedUpstream('monolith', (req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.method === 'POST') return void res.writeHead(201).end(JSON.stringify({ created: true }));
      res.end(product(req.url!.split('/').pop()!, 10));
    });
    candidate = await startScriptedUpstream('catalog', (req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.method === 'POST') return void res.writeHead(201).end(JSON.stringify({ created: true }));
      // The deliberate difference: one field.
      res.end(product(req.url!.split('/').pop()!, 11));
    });
    t = await startRouterForm(
      form,
      routeTableYaml(
        { monolith: monolith.url, catalog: candidate.url },
        {
          things: { path: '/api/things/**', service: 'catalog', extra: '    shadow: { concurrency: 64 }' },
          writes: { path: '/api/writes/**', service: 'catalog', extra: '    shadow: { writes: dry-run }' },
        },
      ),
      // The test's clients and upstreams share the router's event loop here, so its busyness is not the
      // router's: nothing is shed and there is no per-second budget, so every sample is compared.
      {
        shadow: {
          secret,
          shedAbove: 1,
          maxPerSecond: 0,
          capture: { file: join(tmpdir(), `ficus-capture-${form}-${process.pid}.jsonl`) },
        },
      },
    );
  });
  afterAll(async () => {
    await t.close();
    await monolith.stop();
    await candidate.stop();
  });

  it('mirrors a sample to the service and reports the one differing field; ids and timestamps are learned as noise', async () => {
    await shadowEverything(t, 'things');
    const result = await load(`${t.url}/api/things/42`, { total: 200, concurrency: 8 });
    expect(result.statuses[200]).toBe(200);
    expect(result.servedBy).toEqual({ monolith: 200 });
    const parity = await settled(t, 'things', 200);
    expect(parity.compared).toBe(200);
    expect(parity.differ).toBe(200);
    expect(parity.differences.map((d) => [d.field, d.kind, d.flagged])).toEqual([['$.price', 'value', 200]]);
    expect(parity.noise.map((d) => d.field).sort()).toEqual(['$.at', '$.requestId']);
    const [exampleId] = parity.differences[0]!.examples;
    const example = await t.shadow.recorder.store.example(exampleId!);
    expect(example?.differences).toContainEqual(
      expect.objectContaining({ path: '$.price', primary: 10, candidate: 11 }),
    );
    expect(example?.path).toBe('/api/things/42');
  });

  it('replays the capture of the same traffic offline into the same report', async () => {
    const file = join(tmpdir(), `ficus-capture-${form}-${process.pid}.jsonl`);
    await eventually(async () => (await readFile(file, 'utf8')).trim().split('\n').length >= 200, 5000, 'captured');
    const live = (await parityOf(t, 'things'))!;
    const offline = await replay(readExchanges(file), {
      candidate: new URL(candidate.url),
      primary: new URL(monolith.url),
      concurrency: 8,
      timeoutMs: 2000,
      bodyLimit: 1024 * 1024,
      table: t.state.table,
      headers: [],
      comparator: inlineComparator(),
      logger: createLogger({ level: 'silent', name: 'replay' }),
    });
    const [report] = offline.report;
    const summary = (p: RouteParity) => ({
      route: p.route,
      compared: p.compared,
      differ: p.differ,
      differences: p.differences.map((d) => [d.field, d.kind, d.flagged]),
      noise: p.noise.map((d) => d.field).sort(),
    });
    expect(offline.replayed).toBe(200);
    expect(summary(report!)).toEqual(summary(live));
  });

  it('at canary compares only the monolith-served share; at service runs in reverse with the monolith as candidate', async () => {
    await t.setStage('things', 'canary', 50, 100);
    await eventually(() => t.flags.stage('ficus.things').stage === 'canary', 2000, 'canary applied');
    const before = (await parityOf(t, 'things'))!.compared;
    const users = await load(`${t.url}/api/things/5`, {
      total: 200,
      concurrency: 8,
      headers: (i) => ({ 'x-user-id': `u-${i}` }),
    });
    expect(users.servedBy['catalog']).toBeGreaterThan(40);
    expect(users.servedBy['monolith']).toBeGreaterThan(40);
    const canary = await settled(t, 'things', 200 + users.servedBy['monolith']!);
    expect(canary.compared - before).toBe(users.servedBy['monolith']);

    await t.setStage('things', 'service', 100, 100);
    await eventually(() => t.flags.stage('ficus.things').stage === 'service', 2000, 'service applied');
    const served = await load(`${t.url}/api/things/6`, { total: 50, concurrency: 4 });
    expect(served.servedBy).toEqual({ catalog: 50 });
    const reverse = await settled(t, 'things', canary.compared + 50);
    expect(reverse.compared - canary.compared).toBe(50);
    // The monolith is asked once per request (the candidate), the serving service twice (its answer, and the noise).
    const asked = (u: ScriptedUpstream) => u.seen.filter((r) => r.url === '/api/things/6').length;
    expect(asked(monolith)).toBe(50);
    expect(asked(candidate)).toBe(100);
    await shadowEverything(t, 'things');
  });

  it('mirrors no write unless the route opts into dry-run, and signs the mirrored ones; a client cannot send the header on', async () => {
    await t.setStage('things', 'shadow', 0, 100);
    await t.setStage('writes', 'shadow', 0, 100);
    await eventually(() => t.flags.stage('ficus.writes').stage === 'shadow', 2000, 'stage shadow applied');
    const before = candidate.seen.length;
    const plain = await fetch(`${t.url}/api/things/1`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    expect(plain.status).toBe(201);
    const forged = await fetch(`${t.url}/api/writes/7`, {
      method: 'POST',
      body: '{"a":1}',
      headers: { 'content-type': 'application/json', 'x-ficus-shadow': 't=1,v1=00' },
    });
    expect(forged.status).toBe(201);
    await eventually(() => candidate.seen.length > before, 5000, 'the dry-run write mirrored');
    const mirrored = candidate.seen.slice(before);
    expect(mirrored.map((s) => `${s.method} ${s.url}`)).toEqual(['POST /api/writes/7']);
    expect(mirrored[0]!.body).toBe('{"a":1}');
    expect(
      verifyShadowRequest(secret, mirrored[0]!.headers['x-ficus-shadow'], { method: 'POST', path: '/api/writes/7' }),
    ).toEqual({ ok: true });
    // The serving monolith performed the client's write and never saw the client's header.
    const served = monolith.seen.filter((s) => s.url === '/api/writes/7');
    expect(served).toHaveLength(1);
    expect(served[0]!.headers['x-ficus-shadow']).toBeUndefined();
  });
});

/** Status, headers but the timing ones, and a digest of the body: what a client could tell apart. */
async function observed(url: string, id: string) {
  const response = await fetch(url, { headers: { 'x-request-id': id } });
  const body = Buffer.from(await response.arrayBuffer());
  const headers = Object.fromEntries([...response.headers].filter(([name]) => !['date', 'keep-alive'].includes(name)));
  return { status: response.status, headers, digest: createHash('sha256').update(body).digest('hex') };
}

describe.each(routerForms)('a failing candidate behind the %s router', (form) => {
  let mode: Misbehaviour = 'hang';
  let monolith: ScriptedUpstream;
  let candidate: ScriptedUpstream;
  let t: FormRouter;

  beforeAll(async () => {
    monolith = await startScriptedUpstream('monolith', (req, res) => {
      res.setHeader('content-type', 'application/json');
      res.setHeader('etag', '"v1"');
      res.end(
        JSON.stringify({ path: req.url, items: Array.from({ length: 50 }, (_, i) => ({ i, name: `item ${i}` })) }),
      );
    });
    candidate = await startScriptedUpstream('catalog', (_req, res) => misbehave(mode, res));
    t = await startRouterForm(
      form,
      routeTableYaml(
        { monolith: monolith.url, catalog: candidate.url },
        { things: { path: '/api/things/**', service: 'catalog' } },
      ),
      // No shedding and no per-second budget (the load shares the router's event loop here): each mode's
      // samples reach the candidate.
      { shadow: { timeoutMs: 300, shedAbove: 1, maxPerSecond: 0 } },
    );
  });
  afterAll(async () => {
    await t.close();
    await monolith.stop();
    await candidate.stop();
  });

  it('never changes what the client gets (status, headers, body) and counts what it could not compare', async () => {
    const paths = Array.from({ length: 25 }, (_, i) => `${t.url}/api/things/${i}`);
    const baseline = await Promise.all(paths.map((url, i) => observed(url, `req-${i}`)));
    await shadowEverything(t, 'things');
    for (const each of ['hang', 'fail', 'reset', 'huge'] as Misbehaviour[]) {
      mode = each;
      // 1,250 requests per mode, 5,000 in all, each checked against stage monolith's answer.
      for (let round = 0; round < 50; round++) {
        const seen = await Promise.all(paths.map((url, i) => observed(url, `req-${i}`)));
        expect(seen, `${each} round ${round}`).toEqual(baseline);
      }
    }
    const parity = await settled(t, 'things', 5000);
    expect(parity.dropped).toBeGreaterThan(0);
    expect(parity.failed).toBeGreaterThan(0);
    expect(parity.differences.map((d) => d.field)).toEqual(expect.arrayContaining(['status', 'body']));
    expect(parity.compared + parity.failed + parity.dropped + parity.skipped).toBe(5000);
  });
});

describe.each(routerForms)('the monolith as its own candidate behind the %s router (A/A)', (form) => {
  let monolith: ScriptedUpstream;
  let t: FormRouter;

  beforeAll(async () => {
    monolith = await startScriptedUpstream('monolith', (req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(product(req.url!.split('/').pop()!, 10));
    });
    t = await startRouterForm(
      form,
      routeTableYaml(
        { monolith: monolith.url, twin: monolith.url },
        { things: { path: '/api/things/**', service: 'twin', extra: '    shadow: { concurrency: 64 }' } },
      ),
      // Every one of the 5,000 compared: the load runs on the router's event loop here (see above).
      { shadow: { shedAbove: 1, maxPerSecond: 0 } },
    );
  });
  afterAll(async () => {
    await t.close();
    await monolith.stop();
  });

  it('flags at most 0.03 % of 5,000 requests whose answers carry their own ids and timestamps', async () => {
    await shadowEverything(t, 'things');
    const result = await load(`${t.url}/api/things/7`, { total: 5000, concurrency: 16 });
    expect(result.statuses[200]).toBe(5000);
    const parity = await settled(t, 'things', 5000);
    // Nearly all compared; what a loaded machine sheds is counted as dropped, never lost or failed.
    expect(parity.compared).toBeGreaterThan(4000);
    expect(parity.failed).toBe(0);
    expect(parity.compared + parity.dropped + parity.skipped).toBe(5000);
    expect(parity.differ / parity.compared).toBeLessThanOrEqual(0.0003);
    expect(parity.differences).toEqual([]);
    expect(parity.noise.map((d) => d.field).sort()).toEqual(['$.at', '$.requestId']);
  });
});

const silent = createLogger({ level: 'silent', name: 'parity-store' });

describe('a parity store that is down', () => {
  it('changes nothing for clients: results are dropped and counted', async () => {
    const monolith = await startScriptedUpstream('monolith', (_req, res) => void res.end('{"ok":true}'));
    const closed = await freePort();
    const t = await startRouterForm(
      'standalone',
      routeTableYaml(
        { monolith: monolith.url, twin: monolith.url },
        { things: { path: '/api/things/**', service: 'twin' } },
      ),
      {
        shadow: {
          store: new PgParityStore(`postgres://ficus:ficus@127.0.0.1:${closed}/parity`, { logger: silent }),
          shedAbove: 1,
        },
      },
    );
    try {
      await shadowEverything(t, 'things');
      const result = await load(`${t.url}/api/things/1`, { total: 300, concurrency: 8 });
      expect(result.statuses).toEqual({ 200: 300 });
      const lost = async () =>
        Number(/ficus_parity_store_lost_total (\d+)/.exec(await t.metrics.registry.metrics())?.[1] ?? 0);
      await eventually(async () => (await lost()) > 0, 20_000, 'the lost results counted');
      const after = await load(`${t.url}/api/things/1`, { total: 100, concurrency: 8 });
      expect(after.statuses).toEqual({ 200: 100 });
    } finally {
      await t.close();
      await monolith.stop();
    }
  });
});
