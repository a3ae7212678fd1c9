// Copied by ficus extract from monolith/src/modules/catalog/migrations/index.ts; the catalog service owns this file now.
import type { Migration } from '../../../../platform/src/index.js';
import { createProducts } from './001-create-products.js';
import { createReservations } from './002-create-reservations.js';
// The API router's idempotency keys (platform), added by ficus extract: this service serves its module's API.
import { apiIdempotencyMigration } from '../../../../platform/src/index.js';

/** In order; append, never reorder or edit one that has shipped. */
export const migrations: readonly Migration[] = [createProducts, createReservations, apiIdempotencyMigration];
