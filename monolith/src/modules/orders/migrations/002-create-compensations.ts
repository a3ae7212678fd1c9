import type { Migration } from '../../../../../platform/src/index.js';

export const createCompensations: Migration = {
  name: '002-create-compensations',
  async up(db) {
    // What a failed order could not give back when it failed (the catalog or payments did not
    // answer), for the retry job to finish: one row per order and step, done once it is.
    await db.schema.createTable('compensations', (t) => {
      t.bigIncrements('id');
      t.uuid('order_id').notNullable().references('id').inTable('orders').onDelete('CASCADE');
      t.text('step').notNullable().checkIn(['release-stock', 'refund']);
      // release-stock: the reservation to release; or, when the reservation's answer was lost,
      // the idempotency key and the very call to ask the catalog again what it did.
      t.uuid('reservation_id');
      t.text('idempotency_key');
      t.jsonb('reserve_call');
      // refund: the charge to refund.
      t.uuid('charge_id');
      t.integer('attempts').notNullable().defaultTo(0);
      t.timestamp('next_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
      t.text('last_error');
      t.timestamp('done_at', { useTz: true });
      t.timestamps(true, true);
      t.unique(['order_id', 'step']);
    });
    await db.raw('CREATE INDEX compensations_due ON compensations (next_at) WHERE done_at IS NULL');
  },
  async down(db) {
    await db.schema.dropTable('compensations');
  },
};
