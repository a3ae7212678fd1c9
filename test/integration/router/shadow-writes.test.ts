import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Knex } from '../../../platform/src/index.js';
import { definedModules as modules } from '../../../monolith/src/modules.js';
import { sandboxCards } from '../../../monolith/src/modules/payments/index.js';
import { buildReport } from '../../../router/src/shadow/report.js';
import { countingProvider, startTestMonolith, type TestMonolith } from '../../kit/monolith.js';
import { eventually, startTestRouter, type TestRouter } from '../../kit/router.js';

const secret = 'router-and-upstreams-share-this-shadow-secret';

async function serve(t: TestMonolith): Promise<{ server: Server; url: string }> {
  const server = createServer(t.app).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** Rows of every table of every module schema. */
async function rowCounts(db: Knex): Promise<Record<string, number>> {
  const tables = await db('information_schema.tables')
    .whereIn(
      'table_schema',
      modules.map((m) => m.manifest.schema),
    )
    .andWhere('table_type', 'BASE TABLE')
    .select('table_schema', 'table_name');
  const counts: Record<string, number> = {};
  for (const { table_schema, table_name } of tables) {
    const [row] = await db(`${table_schema}.${table_name}`).count({ count: '*' });
    counts[`${table_schema}.${table_name}`] = Number(row?.count);
  }
  return counts;
}

/**
 * Gives the candidate the primary's catalog and users (as replication would): the same ids, so a
 * mirrored order means the same products and customer on both sides.
 */
async function copyData(from: Knex, to: Knex, schemas: string[]): Promise<void> {
  const tables = (
    await from('information_schema.tables')
      .whereIn('table_schema', schemas)
      .andWhere('table_type', 'BASE TABLE')
      .select('table_schema', 'table_name')
  ).map((t: { table_schema: string; table_name: string }) => `${t.table_schema}.${t.table_name}`);
  await to.raw(`truncate ${tables.join(', ')} cascade`);
  // Parents before children: a table whose rows refer to one not yet copied waits a turn.
  let left = tables;
  while (left.length) {
    const next: string[] = [];
    for (const table of left) {
      const rows = await from(table).select();
      if (rows.length === 0) continue;
      await to(table)
        .insert(rows)
        .catch(() => next.push(table));
    }
    if (next.length === left.length) throw new Error(`cannot copy ${next.join(', ')}`);
    left = next;
  }
}

// A real monolith serves; a second real monolith (its own database, the same chassis a service
// has) is the candidate. Mirrored writes of a dry-run route must leave the candidate untouched.
describe('shadowing POST /api/v1/orders with writes: dry-run', () => {
  let primary: TestMonolith;
  let candidate: TestMonolith;
  let servers: Server[];
  let router: TestRouter;
  let candidateDb: Knex;
  const payments = countingProvider();
  let order: () => Promise<Response>;

  beforeAll(async () => {
    primary = await startTestMonolith({ env: { SHADOW_SECRET: secret } });
    candidate = await startTestMonolith({ env: { SHADOW_SECRET: secret }, paymentProvider: payments.provider });
    const [a, b] = [await serve(primary), await serve(candidate)];
    servers = [a.server, b.server];
    candidateDb = createDb(candidate.database.url, { poolMax: 2 });
    const primaryDb = createDb(primary.database.url, { poolMax: 2 });
    await copyData(primaryDb, candidateDb, ['catalog', 'users']).finally(() => primaryDb.destroy());
    const routes = [
      `upstreams: { monolith: { url: "${a.url}" }, candidate: { url: "${b.url}" } }`,
      'defaultUpstream: monolith',
      'routes:',
      '  - id: orders-write',
      '    match: { path: /api/v1/orders, methods: [POST] }',
      '    service: candidate',
      '    shadow: { writes: dry-run }',
    ];
    router = await startTestRouter(`${routes.join('\n')}\n`, { shadow: { secret } });
    const token = await primary.token('customer');
    const { items } = (await (await fetch(`${a.url}/api/v1/products`)).json()) as {
      items: Array<{ id: string; sku: string }>;
    };
    const productId = items.find((p) => p.sku === 'FIG-001')!.id;
    order = () =>
      fetch(`${router.url}/api/v1/orders`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${token}`,
          'x-ficus-shadow': 't=1,v1=forged',
        },
        body: JSON.stringify({ items: [{ productId, quantity: 1 }], payment: { cardNumber: sandboxCards.approved } }),
      });
  });
  afterAll(async () => {
    await router?.close();
    for (const server of servers ?? []) server.close();
    await candidateDb?.destroy();
    await primary?.close();
    await candidate?.close();
  });

  it('performs the client write on the monolith, leaves the candidate tables unchanged, calls no provider, and compares', async () => {
    const primaryDb = createDb(primary.database.url, { poolMax: 2 });
    try {
      const before = { primary: await rowCounts(primaryDb), candidate: await rowCounts(candidateDb) };
      await router.setStage('orders-write', 'shadow', 0, 100);
      await eventually(
        () => router.router.flags.stage('ficus.orders-write').stage === 'shadow',
        2000,
        'shadow applied',
      );
      // The client's own x-ficus-shadow header is dropped: its write is performed normally.
      for (let i = 0; i < 3; i++) {
        const response = await order();
        expect(response.status, await response.text()).toBe(201);
        expect(response.headers.get('x-ficus-upstream')).toBe('monolith');
      }
      await eventually(
        async () => {
          await router.router.shadow.recorder.flush();
          const [parity] = buildReport(await router.router.shadow.recorder.store.read({ route: 'orders-write' }));
          return (parity?.compared ?? 0) === 3;
        },
        10_000,
        'three mirrored orders compared',
      );
      expect((await rowCounts(primaryDb))['orders.orders']).toBe(before.primary['orders.orders']! + 3);
      // The candidate placed the order (and rolled it back): same status, and only per-order fields differ.
      const [parity] = buildReport(await router.router.shadow.recorder.store.read({ route: 'orders-write' }));
      const fields = parity!.differences.map((d) => d.field);
      expect(fields).not.toContain('status');
      expect(
        fields.every((f) => /^\$\.(id|createdAt|chargeId|lines\[\*\]\.(id|orderId))$/.test(f)),
        fields.join(),
      ).toBe(true);
      expect(await rowCounts(candidateDb)).toEqual(before.candidate);
      expect(payments.calls.charge).toBe(0);
    } finally {
      await primaryDb.destroy();
    }
  });
});
