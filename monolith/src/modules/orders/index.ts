/**
 * orders — place, list and get orders. Depends on catalog (stock) and payments (charges),
 * through their index.ts only, as module.json declares.
 * This file is the module's only public surface.
 */
import type { Router } from 'express';
import type { KeyedApi, Knex, Logger, ModuleDefinition, Tokens } from '../../../../platform/src/index.js';
import { parseManifest } from '../../../../platform/src/index.js';
import type { CatalogApi } from '../catalog/index.js';
import type { PaymentsApi } from '../payments/index.js';
import { ordersRoutes } from './http/routes.js';
import { getOrder, listOrders, type Order, type OrderLine, type OrderStatus } from './internal/order-repository.js';
import { placeOrder, type PlaceOrderRequest } from './internal/place-order.js';
import { retryCompensations } from './internal/retry-compensations.js';
import { migrations } from './migrations/index.js';
import manifest from './module.json' with { type: 'json' };

export type { Order, OrderLine, OrderStatus, PlaceOrderRequest };

export interface OrdersApi {
  placeOrder(request: PlaceOrderRequest): Promise<Order>;
  getOrder(id: string, userId?: string): Promise<Order>;
  listOrders(userId: string, page?: { limit: number; offset: number }): Promise<Order[]>;
}

export const ordersModule: ModuleDefinition = {
  manifest: parseManifest(manifest, 'monolith/src/modules/orders/module.json'),
  migrations,
};

export interface OrdersDeps {
  db: Knex;
  tokens: Tokens;
  logger: Logger;
  /** The catalog's API as createCatalog makes it: the saga chooses the idempotency key of its reservation. */
  catalog: KeyedApi<CatalogApi>;
  payments: PaymentsApi;
  /**
   * The catalog service's API alone, when there is one: the retry job asks it again about a
   * reservation whose answer was lost, since the key is in its database.
   */
  catalogService?: KeyedApi<CatalogApi> | undefined;
  /** How often the retry job looks for compensations failed orders still owe; 0: no job. */
  retryCompensationsMs?: number;
}

export function createOrders(deps: OrdersDeps): { api: OrdersApi; routes: Router; close(): Promise<void> } {
  const retry = deps.retryCompensationsMs
    ? retryCompensations({ ...deps, intervalMs: deps.retryCompensationsMs })
    : undefined;
  return {
    close: async () => retry?.stop(),
    api: {
      placeOrder: (request) => placeOrder(deps, request),
      getOrder: (id, userId) => getOrder(deps.db, id, userId),
      listOrders: (userId, page = { limit: 20, offset: 0 }) => listOrders(deps.db, userId, page),
    },
    routes: ordersRoutes(deps),
  };
}
