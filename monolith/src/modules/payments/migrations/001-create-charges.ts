import type { Migration } from '../../../../../platform/src/index.js';

export const createCharges: Migration = {
  name: '001-create-charges',
  async up(db) {
    await db.schema.createTable('charges', (t) => {
      t.uuid('id').primary().defaultTo(db.raw('gen_random_uuid()'));
      t.text('reference').notNullable().index();
      t.integer('amount_cents').notNullable().checkPositive();
      t.specificType('currency', 'char(3)').notNullable();
      t.string('card_last4', 4).notNullable();
      t.text('status').notNullable().checkIn(['pending', 'succeeded', 'declined', 'timed_out', 'refunded']);
      t.text('provider_ref');
      t.text('failure_reason');
      t.timestamps(true, true);
    });
  },
  async down(db) {
    await db.schema.dropTable('charges');
  },
};
