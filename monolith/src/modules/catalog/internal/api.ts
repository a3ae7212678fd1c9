import type { Knex } from '../../../../../platform/src/index.js';
import { defineApi } from '../../../../../platform/src/index.js';
import { getProduct, listProducts, type Product } from './products.js';
import {
  commitReservation,
  releaseReservation,
  reserveStock,
  type Reservation,
  type ReservationRequest,
} from './reservations.js';

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

/**
 * The catalog API's name and methods, from which platform builds its HTTP client (remoteApi) and
 * server (apiRouter). ficus extract copies this file into the catalog service, which serves it.
 */
export const catalogApiSpec = defineApi<CatalogApi>('catalog', {
  getProduct: { writes: false },
  listProducts: { writes: false },
  reserveStock: { writes: true },
  releaseReservation: { writes: true },
  commitReservation: { writes: true },
});

/** The catalog API on a knex: the module's own tables, or a transaction over them. */
export function catalogApi(db: Knex): CatalogApi {
  return {
    getProduct: (id) => getProduct(db, id),
    listProducts: (page = { limit: 100, offset: 0 }) => listProducts(db, page),
    reserveStock: (request) => reserveStock(db, request),
    releaseReservation: (id) => releaseReservation(db, id),
    commitReservation: (id) => commitReservation(db, id),
  };
}
