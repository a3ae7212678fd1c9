import { createDb, createLogger, databaseName, FicusError, type Knex } from '../../../platform/src/index.js';
import { redactUrl } from './names.js';

/** One replication: a monolith module's schema copied into its extracted service's database. */
export interface DataPair {
  /** The monolith module, e.g. `catalog`. */
  module: string;
  /** The schema of its tables, the same name on both sides. */
  schema: string;
  /** Admin URL of the monolith database (the publisher). */
  sourceUrl: string;
  /** Admin URL of the service database (the subscriber). */
  targetUrl: string;
  /**
   * How the target's server reaches the source, as a libpq conninfo or URL; `sourceUrl` by
   * default, which is right when both databases are on one server.
   * @example 'host=monolith-db.internal port=5432 dbname=app user=replicator password=…'
   */
  publisherConninfo?: string;
  /** Progress lines for people. */
  say?: (line: string) => void;
  /** How progress lines name the direction; `the monolith to the service` by default. */
  direction?: string;
}

/** Open connections to both sides of a pair. */
export interface PairConnections {
  source: Knex;
  target: Knex;
  close(): Promise<void>;
}

const connectionErrors = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ECONNRESET']);

function cannotConnect(side: 'source' | 'target', url: string, error: unknown): FicusError {
  const code = (error as { code?: string }).code ?? '';
  const what = side === 'source' ? 'the monolith (source) database' : 'the service (target) database';
  const hint =
    code === '3D000'
      ? side === 'target'
        ? `create database ${databaseName(url)} and run the service's migrations there (ficus db migrate), or pass --target`
        : 'check DATABASE_URL or --source'
      : code === '28P01' || code === '28000'
        ? 'check the user and password in the URL'
        : side === 'target'
          ? 'start that server or fix --target (default <MODULE>_DATABASE_URL, else ficus_<module> on the source server)'
          : 'start that server or fix DATABASE_URL / --source';
  return new FicusError(
    'FICUS_ERR_DATA_SETUP',
    `cannot connect to ${what} at ${redactUrl(url)} (${(error as Error).message || code}): ${hint}`,
    { cause: error },
  );
}

/** A small admin pool on one side, checked with a first query so an unreachable server fails here, by name. */
export async function connect(
  side: 'source' | 'target',
  url: string,
  options: { poolMax?: number } = {},
): Promise<Knex> {
  let db: Knex;
  try {
    // knex would print each failed connection attempt itself; the error thrown below says it once, with what to do.
    const logger = createLogger({ level: 'silent', name: 'ficus-data' });
    db = createDb(url, { poolMax: options.poolMax ?? 2, applicationName: `ficus-data-${side}`, logger });
  } catch (error) {
    throw cannotConnect(side, url, error);
  }
  try {
    await db.raw('SELECT 1');
    return db;
  } catch (error) {
    await db.destroy();
    const code = (error as { code?: string }).code ?? '';
    if (connectionErrors.has(code) || /^(3D000|28P01|28000|08\d\d\d)$/.test(code) || error instanceof AggregateError)
      throw cannotConnect(side, url, error);
    if (/timeout|ECONNREFUSED|getaddrinfo/i.test((error as Error).message)) throw cannotConnect(side, url, error);
    throw error;
  }
}

/** Both sides, source first (a setup problem on the monolith side is reported before the target's). */
async function connectPair(pair: DataPair, options: { poolMax?: number } = {}): Promise<PairConnections> {
  const source = await connect('source', pair.sourceUrl, options);
  let target: Knex;
  try {
    target = await connect('target', pair.targetUrl, options);
  } catch (error) {
    await source.destroy();
    throw error;
  }
  return { source, target, close: async () => void (await Promise.all([source.destroy(), target.destroy()])) };
}

/** Runs `work` with both sides open, closing them whatever happens. */
export async function withPair<T>(
  pair: DataPair,
  work: (connections: PairConnections) => Promise<T>,
  options: { poolMax?: number } = {},
): Promise<T> {
  const connections = await connectPair(pair, options);
  try {
    return await work(connections);
  } finally {
    await connections.close();
  }
}
