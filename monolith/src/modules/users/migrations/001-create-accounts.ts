import type { Migration } from '../../../../../platform/src/index.js';

export const createAccounts: Migration = {
  name: '001-create-accounts',
  async up(db) {
    await db.schema.createTable('accounts', (t) => {
      t.uuid('id').primary().defaultTo(db.raw('gen_random_uuid()'));
      t.text('email').notNullable();
      t.text('name').notNullable();
      t.text('password_hash').notNullable();
      t.text('role').notNullable().defaultTo('customer').checkIn(['customer', 'admin']);
      t.timestamps(true, true);
    });
    await db.raw('CREATE UNIQUE INDEX accounts_email_unique ON accounts (lower(email))');
  },
  async down(db) {
    await db.schema.dropTable('accounts');
  },
};
