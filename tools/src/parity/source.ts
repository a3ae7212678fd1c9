import { FicusError } from '../../../platform/src/index.js';
import { PgParityStore } from '../../../router/src/shadow/pg-store.js';
import { buildReport, type RouteParity } from '../../../router/src/shadow/report.js';
import type { Example, ParityQuery } from '../../../router/src/shadow/store.js';

type Env = Record<string, string | undefined>;

/** Where `ficus parity` and the promotion gate read parity: the router's database, or a router's admin API. */
export interface ParitySource {
  readonly description: string;
  report(query: ParityQuery): Promise<RouteParity[]>;
  example(id: string): Promise<Example | undefined>;
  close(): Promise<void>;
}

export interface ParitySourceOptions {
  database?: string | undefined;
  admin?: string | undefined;
}

const defaultAdminUrl = 'http://127.0.0.1:8081';

/** The router's PostgreSQL parity store, which every router writes to. */
function fromDatabase(url: string): ParitySource {
  const store = new PgParityStore(url);
  const failed = (error: unknown): never => {
    throw new FicusError(
      'FICUS_ERR_PARITY_SOURCE',
      `cannot read parity from ${store.description}: ${(error as Error).message}; check PARITY_DATABASE_URL (or --database)`,
      { cause: error },
    );
  };
  return {
    description: store.description,
    report: async (query) => buildReport(await store.read(query).catch(failed)),
    example: (id) => store.example(id).catch(failed),
    close: () => store.close(),
  };
}

/** A running router's admin API (its store, memory or PostgreSQL). */
function fromAdmin(base: string, token: string | undefined): ParitySource {
  const get = async (path: string): Promise<Response> => {
    try {
      return await fetch(new URL(path, base), {
        headers: token ? { authorization: `Bearer ${token}` } : {},
        signal: AbortSignal.timeout(10_000),
      });
    } catch (error) {
      const code = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
      throw new FicusError(
        'FICUS_ERR_PARITY_SOURCE',
        `no router admin API answers at ${base} (${code}); start the router (npm start), pass --admin <url>, or --database <postgres url> (PARITY_DATABASE_URL)`,
        { cause: error },
      );
    }
  };
  const refused = async (response: Response): Promise<never> => {
    const text = await response.text();
    throw new FicusError(
      'FICUS_ERR_PARITY_SOURCE',
      `the router admin API at ${base} answered ${response.status}${response.status === 401 ? ' (set ADMIN_TOKEN)' : ''}: ${text.slice(0, 200)}`,
    );
  };
  return {
    description: `router admin ${base}`,
    report: async (query) => {
      const params = new URLSearchParams();
      if (query.route) params.set('route', query.route);
      if (query.since !== undefined) params.set('since', String(query.since));
      const response = await get(`/parity?${params}`);
      if (!response.ok) return refused(response);
      return ((await response.json()) as { routes: RouteParity[] }).routes;
    },
    example: async (id) => {
      const response = await get(`/parity/examples/${encodeURIComponent(id)}`);
      if (response.status === 404) return undefined;
      if (!response.ok) return refused(response);
      return (await response.json()) as Example;
    },
    close: async () => {},
  };
}

/** --database (or PARITY_DATABASE_URL) first, else the admin API of --admin (or ROUTER_ADMIN_URL, default 127.0.0.1:8081). */
export function paritySource(options: ParitySourceOptions, env: Env): ParitySource {
  const database = options.database ?? env['PARITY_DATABASE_URL'];
  if (database) return fromDatabase(database);
  return fromAdmin(options.admin ?? env['ROUTER_ADMIN_URL'] ?? defaultAdminUrl, env['ADMIN_TOKEN']);
}
