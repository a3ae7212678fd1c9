// Copied by ficus extract from monolith/src/modules/catalog/migrations/002-create-reservations.ts; the catalog service owns this file now.
import type { Migration } from '../../../../platform/src/index.js';

export const createReservations: Migration = {
  name: '002-create-reservations',
  async up(db) {
    await db.schema.createTable('reservations', (t) => {
      t.uuid('id').primary().defaultTo(db.raw('gen_random_uuid()'));
      t.text('reference').notNullable().index();
      t.text('status').notNullable().defaultTo('held').checkIn(['held', 'released', 'committed']);
      t.timestamps(true, true);
    });
    await db.schema.createTable('reservation_lines', (t) => {
      t.uuid('reservation_id').notNullable().references('id').inTable('reservations').onDelete('CASCADE');
      t.uuid('product_id').notNullable().references('id').inTable('products');
      t.integer('quantity').notNullable().checkPositive();
      t.integer('unit_price_cents').notNullable();
      t.primary(['reservation_id', 'product_id']);
    });
  },
  async down(db) {
    await db.schema.dropTable('reservation_lines');
    await db.schema.dropTable('reservations');
  },
};
