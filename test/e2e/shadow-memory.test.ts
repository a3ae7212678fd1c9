import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stageToggles } from '../../platform/src/flags/features.js';
import { freePort } from '../kit/ports.js';
import { spawnNode, waitFor, type Spawned } from '../kit/processes.js';
import { routeTableYaml } from '../kit/router.js';
import { load, misbehave, startScriptedUpstream, type Misbehaviour, type ScriptedUpstream } from '../kit/upstreams.js';

/** Resident memory of a process in MiB, from the kernel. */
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

// The router as its own process (`ficus router`), so its memory is measured alone: a candidate
// that hangs, fails, resets or sends 50 MB per answer while every request is mirrored.
describe('the router at shadow 100 % in front of a misbehaving candidate', () => {
  let monolith: ScriptedUpstream;
  let candidate: ScriptedUpstream;
  let router: Spawned;
  let dir: string;
  let url: string;
  let admin: string;
  let mode: Misbehaviour = 'huge';

  beforeAll(async () => {
    monolith = await startScriptedUpstream('monolith', (req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ path: req.url, items: Array.from({ length: 20 }, (_, i) => ({ i })) }));
    });
    candidate = await startScriptedUpstream('catalog', (_req, res) => misbehave(mode, res));
    dir = await mkdtemp(join(tmpdir(), 'ficus-shadow-memory-'));
    await writeFile(
      join(dir, 'routes.yaml'),
      routeTableYaml(
        { monolith: monolith.url, catalog: candidate.url },
        { things: { path: '/api/things/**', service: 'catalog' } },
      ),
    );
    const toggles = stageToggles({ flag: 'ficus.things', id: 'things', stickiness: 'userId' }, 'shadow', 0, 100);
    await writeFile(join(dir, 'flags.json'), JSON.stringify({ version: 2, features: toggles }));
    const [port, adminPort] = [await freePort(), await freePort()];
    url = `http://127.0.0.1:${port}`;
    admin = `http://127.0.0.1:${adminPort}`;
    router = spawnNode(['tools/bin/ficus.mjs', 'router'], {
      ROUTES_FILE: join(dir, 'routes.yaml'),
      FLAGS_FILE: join(dir, 'flags.json'),
      ROUTER_PORT: String(port),
      ADMIN_PORT: String(adminPort),
      SHADOW_TIMEOUT_MS: '300',
      LOG_LEVEL: 'warn',
    });
    await waitFor(
      async () => ((await fetch(`${admin}/readyz`)).ok ? true : undefined),
      20_000,
      () => `router did not start:\n${router.output()}`,
    );
  });
  afterAll(async () => {
    router?.child.kill('SIGTERM');
    await router?.exited;
    await monolith.stop();
    await candidate.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('stays within 150 MiB of its warmed-up size over 5,000 requests, serves every one, and counts the drops', async () => {
    const pid = router.child.pid!;
    const warm = await load(`${url}/api/things/1`, { total: 500, concurrency: 16 });
    expect(warm.statuses[200]).toBe(500);
    const baseline = rssMb(pid);
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 50);
    const statuses: Record<number, number> = {};
    try {
      for (const each of ['huge', 'hang', 'fail', 'reset', 'huge'] as const) {
        mode = each;
        const result = await load(`${url}/api/things/2`, { total: 1000, concurrency: 16 });
        for (const [status, count] of Object.entries(result.statuses))
          statuses[Number(status)] = (statuses[Number(status)] ?? 0) + count;
      }
    } finally {
      clearInterval(sampler);
    }
    expect(statuses).toEqual({ 200: 5000 });
    console.log(`router RSS: ${baseline.toFixed(0)} MiB warmed up, ${peak.toFixed(0)} MiB at most over 5,000 requests`);
    expect(peak - baseline).toBeLessThan(150);
    const parity = await waitFor(
      async () => {
        const body = (await (await fetch(`${admin}/parity?route=things`)).json()) as {
          routes: Array<Record<string, number>>;
        };
        const things = body.routes[0];
        return things && things['compared']! + things['failed']! + things['dropped']! >= 5500 ? things : undefined;
      },
      20_000,
      () => 'parity of 5,500 samples',
    );
    expect(parity['dropped']).toBeGreaterThan(0);
    expect(parity['failed']).toBeGreaterThan(0);
  });
});
