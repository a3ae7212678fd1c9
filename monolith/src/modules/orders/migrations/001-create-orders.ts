import type { Migration } from '../../../../../platform/src/index.js';

export const createOrders: Migration = {
  name: '001-create-orders',
  async up(db) {
    // user_id, product_id, reservation_id and charge_id point into other modules' schemas:
    // they are plain values, never foreign keys, so each module can move out on its own.
    await db.schema.createTable('orders', (t) => {
      t.uuid('id').primary().defaultTo(db.raw('gen_random_uuid()'));
      t.uuid('user_id').notNullable().index();
      t.text('status').notNullable().checkIn(['pending', 'confirmed', 'rejected', 'payment_failed']);
      t.integer('total_cents');
      t.specificType('currency', 'char(3)');
      t.uuid('reservation_id');
      t.uuid('charge_id');
      t.text('failure_code');
      t.timestamps(true, true);
    });
    await db.schema.createTable('order_lines', (t) => {
      t.uuid('order_id').notNullable().references('id').inTable('orders').onDelete('CASCADE');
      t.uuid('product_id').notNullable();
      t.text('sku');
      t.text('name');
      t.integer('quantity').notNullable().checkPositive();
      t.integer('unit_price_cents');
      t.primary(['order_id', 'product_id']);
    });
  },
  async down(db) {
    await db.schema.dropTable('order_lines');
    await db.schema.dropTable('orders');
  },
};
