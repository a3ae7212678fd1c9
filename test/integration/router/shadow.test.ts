import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyShadowRequest } from '../../../platform/src/index.js';
import { buildReport, type RouteParity } from '../../../router/src/shadow/report.js';
import { eventually, routeTableYaml, routerForms, startRouterForm, type FormRouter } from '../../kit/router.js';
import { load, startScriptedUpstream, type ScriptedUpstream } from '../../kit/upstreams.js';

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

async function settled(t: FormRouter, route: string, samples: number): Promise<RouteParity> {
  await eventually(
    async () => {
      const p = await parityOf(t, route);
      return (p?.compared ?? 0) + (p?.failed ?? 0) + (p?.dropped ?? 0) >= samples;
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
      { shadow: { secret } },
    );
  });
  afterAll(async () => {
    await t.close();
    await monolith.stop();
    await candidate.stop();
  });

  it('mirrors a sample to the service and reports the one differing field; ids and timestamps are learned as noise', async () => {
    await t.setStage('things', 'shadow', 0, 100);
    await eventually(() => t.flags.stage('ficus.things').stage === 'shadow', 2000, 'stage shadow applied');
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
