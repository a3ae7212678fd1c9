import { readFileSync } from 'node:fs';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoAccounts } from '../kit/fixtures.js';
import { freePort } from '../kit/ports.js';
import { type Spawned, spawnNode, waitFor } from '../kit/processes.js';
import { cloneOfThisRepository } from '../kit/repositories.js';
import { stageToggles } from '../../platform/src/index.js';
import { loadRouteTable } from '../../router/src/route-table/load.js';
import { FileFlagStore } from '../../tools/src/flags/flag-store.js';

interface Product {
  id: string;
  sku: string;
  available: number;
}

let dir: string;
/** The starter, copied: where npm start and every ficus command run. */
let starter: string;
let env: Record<string, string>;
let monolith: string;
let router: string;
let catalog: string;
let proc: Spawned;

/** A node process in the starter's copy. */
const run = (args: string[], env: Record<string, string | undefined>) => spawnNode(args, env, starter);
const json = async <T>(url: string, init?: RequestInit) => {
  const response = await fetch(url, init);
  return { response, body: (await response.json()) as T };
};
const admin = () => `http://127.0.0.1:${env['ADMIN_PORT']}`;
const flags = (...args: string[]) =>
  run(['tools/bin/ficus.mjs', 'flags', ...args, '--flags', env['FLAGS_FILE']!, '--audit', join(dir, 'audit.jsonl')], {
    ROUTER_ADMIN_URL: admin(),
  });
const databaseUrl = () => `postgres://postgres:ficus-embedded@127.0.0.1:${env['FICUS_PG_PORT']}/ficus`;
/** `ficus data cutover|revert|status catalog` against npm start's embedded server and this test's flags. */
const data = (command: 'cutover' | 'revert' | 'status') =>
  run(
    [
      'tools/bin/ficus.mjs',
      'data',
      command,
      'catalog',
      ...(command === 'status' ? [] : ['--flags', env['FLAGS_FILE']!, '--audit', join(dir, 'audit.jsonl')]),
    ],
    { DATABASE_URL: databaseUrl(), CATALOG_SERVICE_URL: catalog, MONOLITH_URL: monolith },
  );

/** JSON request headers with a demo account's bearer token, signed in through the router. */
async function signedIn(account: (typeof demoAccounts)[number]): Promise<Record<string, string>> {
  const { body } = await json<{ token: string }>(`${router}/api/v1/users/sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: account.email, password: account.password }),
  });
  return { 'content-type': 'application/json', authorization: `Bearer ${body.token}` };
}

/** The catalog service's pid, as npm start printed it when it last (re)started it. */
const servicePid = () =>
  Number(
    [...proc.output().matchAll(/catalog +http:\S+ +\(service, pid (\d+)|catalog restarted \(pid (\d+)/g)]
      .at(-1)
      ?.slice(1)
      .find(Boolean),
  );

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ficus-services-'));
  starter = await cloneOfThisRepository();
  await copyFile(join(starter, 'router/flags.json'), join(dir, 'flags.json'));
  const [port, routerPort, catalogPort] = [await freePort(), await freePort(), await freePort()];
  env = {
    FICUS_DATA_DIR: join(dir, 'data'),
    FICUS_PG_PORT: String(await freePort()),
    PORT: String(port),
    ROUTER_PORT: String(routerPort),
    ADMIN_PORT: String(await freePort()),
    CATALOG_SERVICE_PORT: String(catalogPort),
    FLAGS_FILE: join(dir, 'flags.json'),
    LOG_LEVEL: 'warn',
  };
  [monolith, router, catalog] = [port, routerPort, catalogPort].map((p) => `http://127.0.0.1:${p}`) as [
    string,
    string,
    string,
  ];
  proc = run(['tools/bin/ficus.mjs', 'dev'], env);
  await waitFor(async () => (proc.output().includes('Press Ctrl-C') ? true : undefined), 60_000, proc.output);
}, 90_000);

afterAll(async () => {
  proc.child.kill('SIGINT');
  await proc.exited;
  await rm(dir, { recursive: true, force: true });
  await rm(starter, { recursive: true, force: true });
});

describe('npm start with services/catalog', () => {
  it('shadows catalog reads on the service, reports their parity, and the gate lets the route through to canary', async () => {
    const refused = flags('set', 'catalog-read', '--stage', 'canary', '--percent', '10');
    expect(await refused.exited, refused.output()).toBe(1);
    expect(refused.output()).toContain('0 compared samples, 500 needed');
    const shadow = flags('set', 'catalog-read', '--stage', 'shadow', '--sample', '100');
    expect(await shadow.exited, shadow.output()).toBe(0);
    expect(shadow.output()).toContain('catalog-read: monolith → shadow 100 %');
    await waitFor(
      async () => {
        const { body } = await json<{ routes: Array<{ id: string; stage: string }> }>(`${admin()}/routes`);
        return body.routes.find((r) => r.id === 'catalog-read')?.stage === 'shadow' ? true : undefined;
      },
      5000,
      proc.output,
    );
    const { body: list } = await json<{ items: Product[] }>(`${router}/api/v1/products`);
    const paths = ['/api/v1/products', ...list.items.slice(0, 3).map((p) => `/api/v1/products/${p.id}`)];
    const compared = async () => {
      const { body } = await json<{ routes: Array<{ route: string; compared: number }> }>(`${admin()}/parity`);
      return body.routes.find((r) => r.route === 'catalog-read')?.compared ?? 0;
    };
    // The router mirrors at most SHADOW_MAX_PER_SECOND (200) samples a second: traffic until 500 are compared.
    await waitFor(
      async () => {
        const answers = await Promise.all(paths.map((path) => fetch(`${router}${path}`)));
        for (const answer of answers) {
          expect(answer.headers.get('x-ficus-upstream')).toBe('monolith');
          await answer.arrayBuffer();
        }
        return (await compared()) >= 500 ? true : undefined;
      },
      30_000,
      proc.output,
      0,
    );
    const report = run(['tools/bin/ficus.mjs', 'parity', 'catalog-read', '--admin', admin()], {});
    expect(await report.exited, report.output()).toBe(0);
    expect(report.output()).toMatch(
      /catalog-read: match 100\.00 % \(95 % CI [\d.]+ % – 100\.00 %\) over [\d,]+ compared samples/,
    );
    expect(report.output()).toContain('differences: none');
    const canary = flags('set', 'catalog-read', '--stage', 'canary', '--percent', '10');
    expect(await canary.exited, canary.output()).toBe(0);
    expect(canary.output()).toMatch(/parity 100\.00 % over [\d,]+ samples meets the bar/);
    expect(canary.output()).toContain('catalog-read: shadow 100 % → canary 10 %');
  });

  it('starts the catalog service with its replica, and the router reaches it at stage service with the same body', async () => {
    expect(proc.output()).toContain(`catalog       ${catalog}`);
    // npm start gives the service a token of the run (and the monolith the same): its API is not open.
    const open = await fetch(`${catalog}/internal/api/catalog/listProducts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"args":[{}]}',
    });
    expect(open.status).toBe(401);
    expect(((await open.json()) as { code: string }).code).toBe('FICUS_ERR_API_UNAUTHORIZED');
    expect(proc.output()).toMatch(/copied catalog\.products: [\d,]+ rows/);
    const direct = await json<{ items: Product[] }>(`${monolith}/api/v1/products`);
    const before = await fetch(`${router}/api/v1/products`);
    expect(before.headers.get('x-ficus-upstream')).toBe('monolith');
    const set = flags('set', 'catalog-read', '--stage', 'service');
    expect(await set.exited, set.output()).toBe(0);
    const served = await waitFor(
      async () => {
        const response = await fetch(`${router}/api/v1/products`);
        return response.headers.get('x-ficus-upstream') === 'catalog' ? response : undefined;
      },
      5000,
      proc.output,
    );
    expect(await served.json()).toEqual(direct.body);

    const contract = run(
      ['tools/bin/ficus.mjs', 'contract', 'catalog', '--monolith', monolith, '--service', catalog],
      {},
    );
    expect(await contract.exited, contract.output()).toBe(0);

    const readiness = run(['tools/bin/ficus.mjs', 'readiness', 'catalog'], { DATABASE_URL: databaseUrl() });
    expect(await readiness.exited, readiness.output()).toBe(0);
    expect(readiness.output()).toContain(
      'it is extracted into services/catalog; its data is in sync by logical replication',
    );
    // The route table reads the service's URL from CATALOG_SERVICE_URL, as the router does.
    const status = run(['tools/bin/ficus.mjs', 'flags', 'status', '--flags', env['FLAGS_FILE']!], {
      CATALOG_SERVICE_URL: catalog,
    });
    expect(await status.exited, status.output()).toBe(0);
    expect(status.output()).toMatch(new RegExp(`catalog-read .+ service +ficus\\.catalog-read +${catalog} +ready`));
  });

  it('shows a stock change made in the monolith in the service within 1 s', async () => {
    const signIn = await json<{ token: string }>(`${monolith}/api/v1/users/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: demoAccounts[0]!.email, password: demoAccounts[0]!.password }),
    });
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${signIn.body.token}` };
    const { body } = await json<{ items: Product[] }>(`${monolith}/api/v1/products?limit=1`);
    const product = body.items[0]!;
    const written = Date.now();
    const put = await fetch(`${monolith}/api/v1/products/${product.id}/stock`, {
      method: 'PUT',
      headers,
      body: JSON.stringify({ available: product.available + 7 }),
    });
    expect(put.status).toBe(200);
    await waitFor(
      async () =>
        (await json<Product>(`${catalog}/api/v1/products/${product.id}`)).body.available === product.available + 7
          ? true
          : undefined,
      1000,
      () => 'the stock change did not reach the service within 1 s',
      20,
    );
    const added = await fetch(`${monolith}/api/v1/products`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ sku: 'REPLICA-1', name: 'Replicated', priceCents: 990, available: 3 }),
    });
    const { id } = (await added.json()) as Product;
    await waitFor(
      async () => ((await fetch(`${catalog}/api/v1/products/${id}`)).ok ? true : undefined),
      1000,
      () => 'the new product did not reach the service within 1 s',
      20,
    );
    expect(Date.now() - written).toBeLessThan(5000);
  });

  it('keeps clients answered while the service is killed, restarts it, and replication catches up', async () => {
    const pid = servicePid();
    expect(pid).toBeGreaterThan(0);
    const statuses: number[] = [];
    let killed = false;
    const client = async () => {
      for (let i = 0; i < 60; i++) {
        const response = await fetch(`${router}/api/v1/products?limit=5`);
        await response.arrayBuffer();
        statuses.push(response.status);
        if (!killed && statuses.length > 20) {
          killed = true;
          process.kill(pid, 'SIGKILL');
        }
      }
    };
    await Promise.all([client(), client(), client(), client()]);
    expect(killed).toBe(true);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(proc.output()).toContain('ficus: catalog exited (SIGKILL)');
    await waitFor(
      async () =>
        (await fetch(`${router}/api/v1/products`)).headers.get('x-ficus-upstream') === 'catalog' ? true : undefined,
      15_000,
      proc.output,
    );
    const { body } = await json<{ items: Product[] }>(`${monolith}/api/v1/products?limit=500`);
    await waitFor(
      async () =>
        (await json<{ items: Product[] }>(`${catalog}/api/v1/products?limit=500`)).body.items.length ===
        body.items.length
          ? true
          : undefined,
      5000,
      proc.output,
    );
  });

  it('cuts the catalog writes over to the service and reverts them, losing nothing', async () => {
    const headers = await signedIn(demoAccounts[0]!);
    const cutover = data('cutover');
    expect(await cutover.exited, cutover.output()).toBe(0);
    expect(cutover.output()).toMatch(/catalog: the writer is now the service; writes were frozen for \d+ ms/);
    expect(cutover.output()).toContain('catalog: the writer is now the service');
    const status = data('status');
    expect(await status.exited, status.output()).toBe(0);
    expect(status.output()).toMatch(
      /from the service to the monolith \(cut over: the service is the writer\)\): streaming/,
    );
    // A new product through the router: written by the service, replicated back to the monolith.
    const created = await waitFor(
      async () => {
        const response = await fetch(`${router}/api/v1/products`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ sku: `CUT-${Date.now()}`, name: 'Cut over', priceCents: 990, available: 3 }),
        });
        return response.headers.get('x-ficus-upstream') === 'catalog' ? response : undefined;
      },
      5000,
      proc.output,
      50,
    );
    expect(created.status).toBe(201);
    const product = (await created.json()) as Product;
    await waitFor(
      async () => ((await fetch(`${monolith}/api/v1/products/${product.id}`)).status === 200 ? true : undefined),
      5000,
      () => "the service's write did not reach the monolith",
      50,
    );
    const revert = data('revert');
    expect(await revert.exited, revert.output()).toBe(0);
    expect(revert.output()).toContain('catalog: the writer is now the monolith');
    const back = await waitFor(
      async () => {
        const response = await fetch(`${router}/api/v1/products/${product.id}/stock`, {
          method: 'PUT',
          headers,
          body: JSON.stringify({ available: 9 }),
        });
        return response.headers.get('x-ficus-upstream') === 'monolith' ? response : undefined;
      },
      5000,
      proc.output,
      50,
    );
    expect(back.status).toBe(200);
    await waitFor(
      async () =>
        (await json<Product>(`${catalog}/api/v1/products/${product.id}`)).body.available === 9 ? true : undefined,
      5000,
      () => "the monolith's write did not reach the service after the revert",
      50,
    );
  });

  it('a cutover killed, cut off from its database or facing a stopped service at any step leaves the monolith the writer, and the next one succeeds', async () => {
    const headers = await signedIn(demoAccounts[0]!);
    const adminDb = new pg.Client({ connectionString: databaseUrl() });
    await adminDb.connect();
    /** A product written through the router: 201 from `upstream` within 5 s (503s while a freeze ends are retried). */
    const writesGoTo = async (upstream: 'monolith' | 'catalog') => {
      const response = await waitFor(
        async () => {
          const answer = await fetch(`${router}/api/v1/products`, {
            method: 'POST',
            headers,
            body: JSON.stringify({ sku: `INT-${Date.now()}`, name: 'Interrupted', priceCents: 100, available: 1 }),
          });
          return answer.status === 201 && answer.headers.get('x-ficus-upstream') === upstream ? answer : undefined;
        },
        5000,
        () => `no write answered 201 by ${upstream}\n${proc.output()}`,
        50,
      );
      const product = (await response.json()) as Product;
      // The other side holds it too: the replication survived the interruption.
      const copy = upstream === 'monolith' ? catalog : monolith;
      // The server's log says why replication stopped, if it did.
      const serverLog = () =>
        readFileSync(join(dir, 'data', 'postgres.log'), 'utf8')
          .split('\n')
          .slice(-40)
          .join('\n');
      await waitFor(
        async () => ((await fetch(`${copy}/api/v1/products/${product.id}`)).status === 200 ? true : undefined),
        // An apply worker that failed once (a slot its killed predecessor still held) restarts after
        // wal_retrieve_retry_interval, 5 s: what matters here is that the write arrives, not how fast.
        15_000,
        () => `a write to ${upstream} did not reach the other side; the server's log ends:\n${serverLog()}`,
        50,
      );
    };
    /** Starts a cutover and, when it starts `step`, does `interrupt` to it. */
    const interrupted = async (step: string, interrupt: (run: Spawned) => Promise<void>) => {
      const run = data('cutover');
      await waitFor(async () => (run.output().includes(`catalog: ${step}…`) ? true : undefined), 15_000, run.output, 5);
      await interrupt(run);
      return { code: await run.exited, output: run.output() };
    };
    const kill = async (run: Spawned) => void run.child.kill('SIGKILL');
    const cutOff = async () =>
      void (await adminDb.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'ficus-data%'`,
      ));
    const beforeTheSwitch = [
      'freeze writes on the old writer',
      "wait for the replica to apply the old writer's last change",
      'verify both sides hold the same rows',
      "set the replica's sequences past the writer's",
      'replicate back: the old writer becomes a current copy',
      'open writes on the new writer',
      'switch the writes to the new writer',
    ];
    try {
      for (const step of beforeTheSwitch) {
        const killed = await interrupted(step, kill);
        expect(killed.code, `${step}: ${killed.output}`).toBe('SIGKILL');
        await writesGoTo('monolith');
      }
      for (const step of beforeTheSwitch.slice(1, 4)) {
        const cut = await interrupted(step, cutOff);
        expect(cut.code, cut.output).not.toBe(0);
        expect(cut.output).toContain('undone: freeze writes on the old writer');
        await writesGoTo('monolith');
      }
      const pid = servicePid();
      process.kill(pid, 'SIGSTOP');
      try {
        const stopped = data('cutover');
        expect(await stopped.exited, stopped.output()).toBe(2);
        expect(stopped.output()).toContain('is not ready: GET /readyz did not answer');
        expect(stopped.output()).toContain('undone: freeze writes on the old writer');
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      await writesGoTo('monolith');
      // The service killed as the switch nears: npm start restarts it, so the cutover either stops
      // before the switch (the monolith stays the writer) or finds it back and moves the writes.
      const racing = await interrupted('open writes on the new writer', async () => {
        process.kill(servicePid(), 'SIGKILL');
      });
      await writesGoTo(racing.code === 0 ? 'catalog' : 'monolith');
      if (racing.code === 0) {
        const back = data('revert');
        expect(await back.exited, back.output()).toBe(0);
        await writesGoTo('monolith');
      } else expect(racing.output).toContain('undone: freeze writes on the old writer');
      await waitFor(async () => ((await fetch(`${catalog}/readyz`)).ok ? true : undefined), 15_000, proc.output);
      // Killed after the switch: the service is the writer, and the next cutover finishes the move.
      const late = data('cutover');
      await waitFor(
        async () => (late.output().includes('switch the writes to the new writer: done') ? true : undefined),
        15_000,
        late.output,
        5,
      );
      late.child.kill('SIGKILL');
      await late.exited;
      await writesGoTo('catalog');
      // The next cutover finishes what the killed one left (or, had it finished in time, finds nothing to move).
      const finish = data('cutover');
      if ((await finish.exited) === 0)
        expect(finish.output()).toContain('switched by an earlier run that did not finish; finishing it');
      else expect(finish.output()).toContain('the writes already go to the service');
      await writesGoTo('catalog');
      const revert = data('revert');
      expect(await revert.exited, revert.output()).toBe(0);
      await writesGoTo('monolith');

      // Killed in the middle of the switch, as an Unleash flip can be (one Admin API call per
      // toggle, the write routes first): the write route on the service, the API flag not yet.
      // The flags file is one write, so the first of those calls is played here by hand.
      const midSwitch = await interrupted('switch the writes to the new writer', kill);
      expect(midSwitch.code, midSwitch.output).toBe('SIGKILL');
      const table = loadRouteTable(join(starter, 'router/routes.yaml'), {
        MONOLITH_URL: monolith,
        CATALOG_SERVICE_URL: catalog,
      });
      const writeRoute = table.routes.find((r) => r.id === 'catalog-write')!;
      await new FileFlagStore(env['FLAGS_FILE']!).put(stageToggles(writeRoute, 'service', 100, 0)[0]);
      // Writes land on the service and each reaches the monolith (the replication back is there).
      await writesGoTo('catalog');
      // The next cutover moves the writes as a whole.
      const whole = data('cutover');
      expect(await whole.exited, whole.output()).toBe(0);
      await writesGoTo('catalog');
      const back = data('revert');
      expect(await back.exited, back.output()).toBe(0);
      await writesGoTo('monolith');
    } finally {
      await adminDb.end();
    }
  }, 240_000);

  it('under orders and catalog writes, cutover, revert and cutover again: every 2xx write kept once, stock balances', async () => {
    const admin = await signedIn(demoAccounts[0]!);
    const customer = await signedIn(demoAccounts[1]!);
    const stocked: Product[] = [];
    for (let i = 0; i < 3; i++) {
      // Retried while the router applies the last test's revert (503 with Retry-After, as a client would).
      const response = await waitFor(
        async () => {
          const answer = await fetch(`${router}/api/v1/products`, {
            method: 'POST',
            headers: admin,
            body: JSON.stringify({ sku: `LOAD-${Date.now()}-${i}`, name: 'Load', priceCents: 100, available: 100_000 }),
          });
          return answer.status === 503 ? undefined : answer;
        },
        5000,
        proc.output,
        100,
      );
      expect(response.status).toBe(201);
      stocked.push((await response.json()) as Product);
    }
    const statuses: Record<string, number> = {};
    const count = (what: string, response: Response) => {
      const key = `${what} ${response.status}${response.status === 503 ? ` retry-after ${response.headers.get('retry-after')}` : ''}`;
      statuses[key] = (statuses[key] ?? 0) + 1;
    };
    const ordered = new Map<string, number>();
    const created: string[] = [];
    let running = true;
    const orders = async () => {
      while (running) {
        const product = stocked[Math.floor(Math.random() * stocked.length)]!;
        const response = await fetch(`${router}/api/v1/orders`, {
          method: 'POST',
          headers: customer,
          body: JSON.stringify({
            items: [{ productId: product.id, quantity: 1 }],
            payment: { cardNumber: '4242424242424242' },
          }),
        });
        count('order', response);
        const body = (await response.json()) as { id?: string };
        if (response.status === 201) ordered.set(product.id, (ordered.get(product.id) ?? 0) + 1);
        if (response.status === 201 && !body.id) throw new Error('a confirmed order without an id');
      }
    };
    const products = async () => {
      for (let i = 0; running; i++) {
        const response = await fetch(`${router}/api/v1/products`, {
          method: 'POST',
          headers: admin,
          body: JSON.stringify({ sku: `W-${Date.now()}-${i}`, name: 'Written', priceCents: 100, available: 1 }),
        });
        count('product', response);
        const body = (await response.json()) as { id?: string };
        if (response.status === 201) created.push(body.id!);
      }
    };
    const load = Promise.all([orders(), orders(), products()]);
    const windows: string[] = [];
    try {
      for (const command of ['cutover', 'revert', 'cutover'] as const) {
        await new Promise((resolve) => setTimeout(resolve, 1500));
        const run = data(command);
        expect(await run.exited, run.output()).toBe(0);
        windows.push(`${command} ${/frozen for (\d+) ms/.exec(run.output())?.[1]} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 1500));
    } finally {
      running = false;
      await load;
    }
    console.log(`writes: ${JSON.stringify(statuses)}; freeze: ${windows.join(', ')}`);
    const outcomes = Object.keys(statuses).map((key) => key.replace(/^\w+ /, ''));
    expect(
      outcomes.every((o) => o === '201' || o === '503 retry-after 1'),
      JSON.stringify(statuses),
    ).toBe(true);
    // The service is the writer now; each acknowledged product is there, and each product's stock balances.
    for (const id of created) expect((await fetch(`${catalog}/api/v1/products/${id}`)).status).toBe(200);
    for (const product of stocked) {
      const now = (await json<Product>(`${catalog}/api/v1/products/${product.id}`)).body;
      expect(now.available, product.sku).toBe(100_000 - (ordered.get(product.id) ?? 0));
    }
    const revert = data('revert');
    expect(await revert.exited, revert.output()).toBe(0);
  }, 90_000);
});
