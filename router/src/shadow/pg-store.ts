import { createDb, type Knex, type Logger } from '../../../platform/src/index.js';
import {
  examplesPerField,
  type Example,
  type ParityBatch,
  type ParityData,
  type ParityQuery,
  type ParityStore,
} from './store.js';

const schema = 'ficus_router';

/** Rows in one order by key: routers writing the same rows at once then lock them in the same order, never deadlock. */
function inOrder<T>(rows: readonly T[], key: (row: T) => string): T[] {
  const keyed = rows.map((row) => [key(row), row] as const);
  return keyed.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, row]) => row);
}

/** Creates the store's tables if they are missing; safe to run from every router at once. */
async function ensureTables(db: Knex): Promise<void> {
  // One session-level advisory lock: routers starting together do not race on CREATE.
  await db.transaction(async (trx) => {
    await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [`${schema}.parity`]);
    await trx.raw(`create schema if not exists ${schema}`);
    await trx.raw(`create table if not exists ${schema}.parity_counts (
      route text not null, endpoint text not null, minute timestamptz not null, name text not null,
      count bigint not null, primary key (route, endpoint, minute, name))`);
    await trx.raw(`create table if not exists ${schema}.parity_fields (
      route text not null, endpoint text not null, minute timestamptz not null, field text not null,
      kind text not null, raw bigint not null, noise bigint not null, flagged bigint not null,
      primary key (route, endpoint, minute, field, kind))`);
    await trx.raw(`create table if not exists ${schema}.parity_examples (
      id text primary key, at timestamptz not null, route text not null, endpoint text not null,
      field text not null, kind text not null, example jsonb not null)`);
    await trx.raw(
      `create index if not exists parity_examples_by_field on ${schema}.parity_examples (route, field, kind)`,
    );
  });
}

/**
 * Parity results in PostgreSQL (the router's own database), shared by every router: counters
 * are upserted as increments, so several routers add up; examples are capped per field.
 */
export class PgParityStore implements ParityStore {
  readonly description: string;
  readonly #db: Knex;
  #ready: Promise<void> | undefined;

  /** Connects lazily: a database that is down at start is tried again at the next write or read. */
  constructor(url: string, options: { logger?: Logger } = {}) {
    this.#db = createDb(url, {
      poolMax: 2,
      applicationName: 'ficus-router-parity',
      ...(options.logger ? { logger: options.logger } : {}),
    });
    const at = new URL(url);
    this.description = `postgresql ${at.hostname}:${at.port || 5432}${at.pathname}`;
  }

  #tables(): Promise<void> {
    this.#ready ??= ensureTables(this.#db).catch((error: unknown) => {
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }

  async write(batch: ParityBatch): Promise<void> {
    await this.#tables();
    const db = this.#db;
    const iso = (ms: number) => new Date(ms).toISOString();
    const counts = inOrder(batch.counts, (r) => `${r.route}\u0000${r.endpoint}\u0000${r.minute}\u0000${r.name}`);
    const fields = inOrder(
      batch.fields,
      (r) => `${r.route}\u0000${r.endpoint}\u0000${r.minute}\u0000${r.field}\u0000${r.kind}`,
    );
    // PostgreSQL text holds no NUL: this key is hashed by hashtext() below.
    const exampleKey = (e: Example) => JSON.stringify([e.route, e.field, e.kind]);
    await db.transaction(async (trx) => {
      if (counts.length)
        await trx(`${schema}.parity_counts`)
          .insert(counts.map((r) => ({ ...r, minute: iso(r.minute) })))
          .onConflict(['route', 'endpoint', 'minute', 'name'])
          .merge({ count: trx.raw('parity_counts.count + excluded.count') });
      if (fields.length)
        await trx(`${schema}.parity_fields`)
          .insert(fields.map((r) => ({ ...r, minute: iso(r.minute) })))
          .onConflict(['route', 'endpoint', 'minute', 'field', 'kind'])
          .merge({
            raw: trx.raw('parity_fields.raw + excluded.raw'),
            noise: trx.raw('parity_fields.noise + excluded.noise'),
            flagged: trx.raw('parity_fields.flagged + excluded.flagged'),
          });
      for (const example of inOrder(batch.examples, exampleKey)) {
        // Routers writing examples of one field at once take turns, so the latest few are what stays.
        await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [`${schema}.parity_examples${exampleKey(example)}`]);
        await trx.raw(
          `insert into ${schema}.parity_examples (id, at, route, endpoint, field, kind, example)
           values (?, ?, ?, ?, ?, ?, ?::jsonb) on conflict (id) do nothing`,
          [
            example.id,
            iso(example.at),
            example.route,
            example.endpoint,
            example.field,
            example.kind,
            JSON.stringify(example),
          ],
        );
        // The latest few per route, field and kind are kept: a difference found today has today's examples.
        await trx.raw(
          `delete from ${schema}.parity_examples where id in (
             select id from ${schema}.parity_examples where route = ? and field = ? and kind = ?
             order by at desc, id offset ?)`,
          [example.route, example.field, example.kind, examplesPerField],
        );
      }
    });
  }

  async read(query: ParityQuery): Promise<ParityData> {
    await this.#tables();
    const db = this.#db;
    const filter = (builder: Knex.QueryBuilder, column = 'minute') => {
      if (query.route !== undefined) builder.where('route', query.route);
      if (query.since !== undefined) builder.where(column, '>=', new Date(query.since).toISOString());
      return builder;
    };
    const [counts, fields, examples] = await Promise.all([
      filter(
        db(`${schema}.parity_counts`)
          .select('route', 'endpoint', 'name')
          .sum({ count: 'count' })
          .groupBy('route', 'endpoint', 'name'),
      ),
      filter(
        db(`${schema}.parity_fields`)
          .select('route', 'endpoint', 'field', 'kind')
          .sum({ raw: 'raw', noise: 'noise', flagged: 'flagged' })
          .groupBy('route', 'endpoint', 'field', 'kind'),
      ),
      filter(
        db(`${schema}.parity_examples`)
          .select('id', 'at', 'route', 'endpoint', 'field', 'kind')
          .orderBy('at', 'desc')
          .limit(500),
        'at',
      ),
    ]);
    const number = (v: unknown) => Number(v ?? 0);
    // The database sums over the minutes already: rows arrive as totals.
    return {
      counts: counts.map((r: Record<string, unknown>) => ({
        route: String(r['route']),
        endpoint: String(r['endpoint']),
        name: String(r['name']),
        minute: 0,
        count: number(r['count']),
      })),
      fields: fields.map((r: Record<string, unknown>) => ({
        route: String(r['route']),
        endpoint: String(r['endpoint']),
        field: String(r['field']),
        kind: r['kind'] as ParityData['fields'][number]['kind'],
        minute: 0,
        raw: number(r['raw']),
        noise: number(r['noise']),
        flagged: number(r['flagged']),
      })),
      examples: examples.map((r: Record<string, unknown>) => ({
        id: String(r['id']),
        at: new Date(r['at'] as string).getTime(),
        route: String(r['route']),
        endpoint: String(r['endpoint']),
        field: String(r['field']),
        kind: r['kind'] as ParityData['fields'][number]['kind'],
      })),
    };
  }

  async example(id: string): Promise<Example | undefined> {
    await this.#tables();
    const row = await this.#db(`${schema}.parity_examples`).where({ id }).first('example');
    return row ? (row.example as Example) : undefined;
  }

  async close(): Promise<void> {
    await this.#db.destroy();
  }
}
