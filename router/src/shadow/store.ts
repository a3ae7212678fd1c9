import type { Difference } from './compare.js';

/** Sample counts of one route and endpoint in one minute, by name (match, differ, failed, dropped, skipped, by-hash, noise-samples). */
export interface CountRow {
  route: string;
  endpoint: string;
  /** Start of the minute, ms since the epoch. */
  minute: number;
  name: string;
  count: number;
}

/** How often one field differed in one minute: against the candidate (raw), on its own (noise), and reported (flagged). */
export interface FieldRow {
  route: string;
  endpoint: string;
  minute: number;
  field: string;
  kind: Difference['kind'];
  raw: number;
  noise: number;
  flagged: number;
}

/** One differing exchange kept whole (redacted), for `ficus parity show`. */
export interface Example {
  id: string;
  at: number;
  route: string;
  endpoint: string;
  field: string;
  kind: Difference['kind'];
  method: string;
  path: string;
  request: { headers: Record<string, string>; body?: unknown };
  primary: ExampleAnswer;
  candidate: ExampleAnswer;
  differences: Difference[];
}

export interface ExampleAnswer {
  upstream: string;
  status: number;
  headers: Record<string, string>;
  /** Parsed JSON, text, or `{ length, sha256 }` for bodies over the copy limit. */
  body: unknown;
}

export interface ParityBatch {
  counts: CountRow[];
  fields: FieldRow[];
  examples: Example[];
}

export interface ParityQuery {
  route?: string | undefined;
  /** Only minutes from this time on (ms since the epoch). */
  since?: number | undefined;
}

/** Totals over the query's minutes (the `minute` of each row is the latest one seen). */
export interface ParityData {
  counts: CountRow[];
  fields: FieldRow[];
  examples: Array<Pick<Example, 'id' | 'at' | 'route' | 'endpoint' | 'field' | 'kind'>>;
}

/**
 * Where parity results go: PostgreSQL shared by every router (PgParityStore), or memory for
 * unit tests and a router without a database. Writes are additive, so routers can share a store.
 */
export interface ParityStore {
  readonly description: string;
  write(batch: ParityBatch): Promise<void>;
  read(query: ParityQuery): Promise<ParityData>;
  example(id: string): Promise<Example | undefined>;
  close(): Promise<void>;
}

/** Examples kept per route, field and kind (in any store): the latest ones. */
export const examplesPerField = 5;

const countKey = (r: CountRow) => `${r.route}\u0000${r.endpoint}\u0000${r.minute}\u0000${r.name}`;
const fieldKey = (r: FieldRow) => `${r.route}\u0000${r.endpoint}\u0000${r.minute}\u0000${r.field}\u0000${r.kind}`;

/** Sums rows over minutes: the totals a report is built from. */
function totals(data: { counts: CountRow[]; fields: FieldRow[] }): Pick<ParityData, 'counts' | 'fields'> {
  const counts = new Map<string, CountRow>();
  for (const row of data.counts) {
    const key = countKey({ ...row, minute: 0 });
    const seen = counts.get(key);
    if (seen) seen.count += row.count;
    else counts.set(key, { ...row, minute: 0 });
  }
  const fields = new Map<string, FieldRow>();
  for (const row of data.fields) {
    const key = fieldKey({ ...row, minute: 0 });
    const seen = fields.get(key);
    if (seen) {
      seen.raw += row.raw;
      seen.noise += row.noise;
      seen.flagged += row.flagged;
    } else fields.set(key, { ...row, minute: 0 });
  }
  return { counts: [...counts.values()], fields: [...fields.values()] };
}

/** A parity store in memory: what a router without a database keeps, and what unit tests use. */
export class MemoryParityStore implements ParityStore {
  readonly description = 'memory (this router only)';
  readonly #counts = new Map<string, CountRow>();
  readonly #fields = new Map<string, FieldRow>();
  readonly #examples: Example[] = [];
  /** Minutes kept; older rows are forgotten so a long-running router stays bounded. */
  readonly #keepMinutes: number;

  constructor(options: { keepMinutes?: number } = {}) {
    this.#keepMinutes = options.keepMinutes ?? 24 * 60;
  }

  async write(batch: ParityBatch): Promise<void> {
    for (const row of batch.counts) {
      const seen = this.#counts.get(countKey(row));
      if (seen) seen.count += row.count;
      else this.#counts.set(countKey(row), { ...row });
    }
    for (const row of batch.fields) {
      const seen = this.#fields.get(fieldKey(row));
      if (seen) {
        seen.raw += row.raw;
        seen.noise += row.noise;
        seen.flagged += row.flagged;
      } else this.#fields.set(fieldKey(row), { ...row });
    }
    for (const example of batch.examples) {
      this.#examples.push(example);
      const same = this.#examples.filter(
        (e) => e.route === example.route && e.field === example.field && e.kind === example.kind,
      );
      // The oldest of its field and kind makes way.
      if (same.length > examplesPerField) this.#examples.splice(this.#examples.indexOf(same[0]!), 1);
    }
    const oldest = Date.now() - this.#keepMinutes * 60_000;
    for (const [key, row] of this.#counts) if (row.minute < oldest) this.#counts.delete(key);
    for (const [key, row] of this.#fields) if (row.minute < oldest) this.#fields.delete(key);
  }

  async read(query: ParityQuery): Promise<ParityData> {
    const wanted = (row: { route: string; minute: number }) =>
      (query.route === undefined || row.route === query.route) &&
      (query.since === undefined || row.minute >= query.since);
    const { counts, fields } = totals({
      counts: [...this.#counts.values()].filter(wanted),
      fields: [...this.#fields.values()].filter(wanted),
    });
    const examples = this.#examples
      .filter(
        (e) =>
          (query.route === undefined || e.route === query.route) && (query.since === undefined || e.at >= query.since),
      )
      .map(({ id, at, route, endpoint, field, kind }) => ({ id, at, route, endpoint, field, kind }));
    return { counts, fields, examples };
  }

  async example(id: string): Promise<Example | undefined> {
    return this.#examples.find((e) => e.id === id);
  }

  async close(): Promise<void> {}
}
