import { randomBytes } from 'node:crypto';
import { createLogger, type Knex, loadConfig, migrateSchema } from '../../platform/src/index.js';
import { createCatalogService, type CatalogService } from '../../services/catalog/src/app.js';
import { type CatalogConfig, catalogConfigSchema } from '../../services/catalog/src/config.js';
import { migrations } from '../../services/catalog/src/migrations/index.js';
import { createTestDatabase } from './database.js';

export interface TestCatalogService {
  service: CatalogService;
  config: CatalogConfig;
  /** The service's own database (its knex). */
  db: Knex;
  /** Where it listens, on 127.0.0.1. */
  url: string;
  /** The token its API requires (INTERNAL_API_TOKEN): a caller's CATALOG_API_TOKEN, remoteApi's `token`. */
  token: string;
  close(): Promise<void>;
}

/**
 * The extracted catalog service on a migrated, empty database of its own, listening on 127.0.0.1,
 * its API requiring a token of its own.
 */
export async function startTestCatalogService(): Promise<TestCatalogService> {
  const database = await createTestDatabase({ migrate: false });
  const token = randomBytes(32).toString('base64url');
  const config = loadConfig(catalogConfigSchema, {
    DATABASE_URL: database.url,
    LOG_LEVEL: 'silent',
    DB_POOL_MAX: '4',
    INTERNAL_API_TOKEN: token,
  });
  const service = createCatalogService({ config, logger: createLogger({ level: 'silent', name: 'test' }) });
  await migrateSchema(service.db, { schema: config.DB_SCHEMA, migrations });
  await new Promise<void>((resolve) => service.server.listen(0, '127.0.0.1', resolve));
  return {
    service,
    config,
    db: service.db,
    token,
    url: `http://127.0.0.1:${(service.server.address() as { port: number }).port}`,
    async close() {
      service.server.closeAllConnections();
      await new Promise((resolve) => service.server.close(resolve));
      await service.close();
      await database.drop();
    },
  };
}

/** Makes `to`'s products and stock levels `from`'s, as replication (ficus data sync) would. */
export async function copyCatalog(from: Knex, to: Knex): Promise<void> {
  await to('stock_levels').del();
  await to('products').del();
  for (const table of ['products', 'stock_levels']) await to(table).insert(await from(table).select());
}
