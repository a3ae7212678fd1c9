/**
 * catalog — products, prices and stock levels.
 * This file is the module's only public surface: other modules import from here, never from
 * http/, internal/ or migrations/.
 */
import type { Router } from 'express';
import type { Knex, ModuleDefinition, Tokens } from '../../../../platform/src/index.js';
import { parseManifest } from '../../../../platform/src/index.js';
import { catalogRoutes } from './http/routes.js';
import { getProduct, listProducts, type Product } from './internal/products.js';
import {
  commitReservation,
  releaseReservation,
  reserveStock,
  type Reservation,
  type ReservationRequest,
  type ReservedLine,
} from './internal/reservations.js';
import { seedCatalog } from './internal/seed.js';
import { migrations } from './migrations/index.js';
import manifest from './module.json' with { type: 'json' };

export type { Product, Reservation, ReservationRequest, ReservedLine };

/** What other modules may ask of the catalog. */
export interface CatalogApi {
  getProduct(id: string): Promise<Product>;
  listProducts(page?: { limit: number; offset: number }): Promise<Product[]>;
  /** Holds stock for every line or fails with FICUS_ERR_INSUFFICIENT_STOCK / FICUS_ERR_UNKNOWN_REFERENCE, holding none. */
  reserveStock(request: ReservationRequest): Promise<Reservation>;
  /** Compensation: puts held stock back. Idempotent. */
  releaseReservation(reservationId: string): Promise<void>;
  commitReservation(reservationId: string): Promise<void>;
}

export const catalogModule: ModuleDefinition = {
  manifest: parseManifest(manifest, 'monolith/src/modules/catalog/module.json'),
  migrations,
  seed: seedCatalog,
};

export function createCatalog(deps: { db: Knex; tokens: Tokens }): { api: CatalogApi; routes: Router } {
  const { db } = deps;
  return {
    api: {
      getProduct: (id) => getProduct(db, id),
      listProducts: (page = { limit: 100, offset: 0 }) => listProducts(db, page),
      reserveStock: (request) => reserveStock(db, request),
      releaseReservation: (id) => releaseReservation(db, id),
      commitReservation: (id) => commitReservation(db, id),
    },
    routes: catalogRoutes(db, deps.tokens),
  };
}
