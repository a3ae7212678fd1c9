/**
 * catalog — products, prices and stock levels.
 * This file is the module's only public surface: other modules import from here, never from
 * http/, internal/ or migrations/.
 */
import express, { type Router } from 'express';
import type { KeyedApi, Knex, ModuleDefinition, RemoteApiOptions, Tokens } from '../../../../platform/src/index.js';
import { FicusError, parseManifest, remoteApi, switchApi } from '../../../../platform/src/index.js';
import { catalogRoutes } from './http/routes.js';
import { type CatalogApi, catalogApi, catalogApiSpec } from './internal/api.js';
import type { Product } from './internal/products.js';
import type { Reservation, ReservationRequest, ReservedLine } from './internal/reservations.js';
import { seedCatalog } from './internal/seed.js';
import { migrations } from './migrations/index.js';
import manifest from './module.json' with { type: 'json' };

export type { CatalogApi, Product, Reservation, ReservationRequest, ReservedLine };
export { catalogApiSpec };

export const catalogModule: ModuleDefinition = {
  manifest: parseManifest(manifest, 'monolith/src/modules/catalog/module.json'),
  migrations,
  seed: seedCatalog,
};

export interface CatalogDeps {
  /** The module's own tables; absent once the module is retired (only the service's API is left). */
  db: Knex | undefined;
  tokens: Tokens;
  /** The catalog service (CATALOG_SERVICE_URL), for the remote implementation of the API. */
  remote?: RemoteApiOptions | undefined;
  /**
   * Which implementation of the API serves a call, asked per call: the module's own tables
   * (`local`, the default) or the catalog service (`remote`, which needs `remote`).
   */
  mode?: () => 'local' | 'remote';
}

/**
 * The catalog's routes and its API. The API is branch by abstraction: the local implementation,
 * and, given `remote`, the catalog service's over HTTP, picked per call by `mode()`. Its
 * `withIdempotencyKey(key)` lets a caller choose the key of a write, to ask the service again
 * what it did (the local implementation needs no keys).
 */
export function createCatalog(deps: CatalogDeps): {
  api: KeyedApi<CatalogApi>;
  /**
   * The catalog service's API alone (with CATALOG_SERVICE_URL), whatever `mode()` says: where an
   * idempotency key lives, so where a write whose answer was lost is asked about again.
   */
  service: KeyedApi<CatalogApi> | undefined;
  routes: Router;
  close(): Promise<void>;
} {
  const remote = deps.remote ? remoteApi(catalogApiSpec, deps.remote) : undefined;
  if (!deps.db) {
    if (!remote)
      throw new FicusError(
        'FICUS_ERR_CONFIG',
        'catalog is retired (monolith/src/modules/catalog/module.json "retired"): the monolith calls the catalog ' +
          'service for it; set CATALOG_SERVICE_URL',
      );
    return {
      api: remote,
      service: remote,
      routes: express.Router(),
      close: () => remote.close(),
    };
  }
  const local = catalogApi(deps.db);
  const mode = deps.mode ?? (() => 'local');
  const checkedMode = () => {
    const chosen = mode();
    if (chosen === 'remote' && !remote) {
      throw new FicusError('FICUS_ERR_CONFIG', 'the catalog API is set to remote, but no CATALOG_SERVICE_URL is set');
    }
    return chosen;
  };
  return {
    api: switchApi(catalogApiSpec, { local, remote }, checkedMode),
    service: remote,
    routes: catalogRoutes(deps.db, deps.tokens),
    close: async () => {
      await remote?.close();
    },
  };
}
