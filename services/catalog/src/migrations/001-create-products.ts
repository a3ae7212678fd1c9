// Copied by ficus extract from monolith/src/modules/catalog/migrations/001-create-products.ts; the catalog service owns this file now.
import type { Migration } from '../../../../platform/src/index.js';

export const createProducts: Migration = {
  name: '001-create-products',
  async up(db) {
    await db.schema.createTable('products', (t) => {
      t.uuid('id').primary().defaultTo(db.raw('gen_random_uuid()'));
      t.text('sku').notNullable().unique();
      t.text('name').notNullable();
      t.text('description').notNullable().defaultTo('');
      t.integer('price_cents').notNullable().checkPositive();
      t.specificType('currency', 'char(3)').notNullable().defaultTo('EUR');
      t.timestamps(true, true);
    });
    await db.schema.createTable('stock_levels', (t) => {
      t.uuid('product_id').primary().references('id').inTable('products').onDelete('CASCADE');
      t.integer('available').notNullable().defaultTo(0);
      t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    });
    await db.raw('ALTER TABLE stock_levels ADD CONSTRAINT stock_levels_available_non_negative CHECK (available >= 0)');
  },
  async down(db) {
    await db.schema.dropTable('stock_levels');
    await db.schema.dropTable('products');
  },
};
