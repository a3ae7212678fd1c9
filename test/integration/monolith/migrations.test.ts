import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Knex } from '../../../platform/src/index.js';
import { migrateModules, rollbackModules } from '../../../monolith/src/database.js';
import { definedModules as modules } from '../../../monolith/src/modules.js';
import { createTestDatabase, type TestDatabase } from '../../kit/database.js';

let database: TestDatabase;
let admin: Knex;

beforeAll(async () => {
  database = await createTestDatabase({ migrate: false });
  admin = createDb(database.url, { poolMax: 1 });
});
afterAll(async () => {
  await admin.destroy();
  await database.drop();
});

/** schema → sorted table names, for the module schemas. */
async function tables(): Promise<Record<string, string[]>> {
  const { rows } = await admin.raw<{ rows: Array<{ table_schema: string; table_name: string }> }>(
    "select table_schema, table_name from information_schema.tables where table_schema in ('catalog','users','payments','orders') order by 1, 2",
  );
  const bySchema: Record<string, string[]> = {};
  for (const row of rows) (bySchema[row.table_schema] ??= []).push(row.table_name);
  return bySchema;
}

describe('module migrations', () => {
  it('creates each schema owned by its module role, with its tables and its own migration history', async () => {
    await migrateModules(database.config, { modules });
    expect(await tables()).toEqual({
      catalog: [
        'knex_migrations',
        'knex_migrations_lock',
        'products',
        'reservation_lines',
        'reservations',
        'stock_levels',
      ],
      orders: ['compensations', 'knex_migrations', 'knex_migrations_lock', 'order_lines', 'orders'],
      payments: ['charges', 'knex_migrations', 'knex_migrations_lock'],
      users: ['accounts', 'knex_migrations', 'knex_migrations_lock'],
    });
    const { rows } = await admin.raw(
      "select nspname, pg_get_userbyid(nspowner) as owner from pg_namespace where nspname in ('catalog','users','payments','orders') order by 1",
    );
    expect(rows).toEqual([
      { nspname: 'catalog', owner: 'ficus_catalog' },
      { nspname: 'orders', owner: 'ficus_orders' },
      { nspname: 'payments', owner: 'ficus_payments' },
      { nspname: 'users', owner: 'ficus_users' },
    ]);
  });

  it('is idempotent: a second run applies nothing', async () => {
    await migrateModules(database.config, { modules });
    const { rows } = await admin.raw('select count(*)::int as n from catalog.knex_migrations');
    expect(rows[0].n).toBe(2);
  });

  it('rolls every module back down to no tables but the history, and up again', async () => {
    await rollbackModules(database.config, { modules });
    const down = await tables();
    for (const schema of ['catalog', 'orders', 'payments', 'users'])
      expect(down[schema]).toEqual(['knex_migrations', 'knex_migrations_lock']);
    await migrateModules(database.config, { modules });
    expect((await tables())['catalog']).toContain('products');
  });

  it('migrates one module on its own', async () => {
    await rollbackModules(database.config, { modules, only: ['payments'] });
    expect((await tables())['payments']).not.toContain('charges');
    expect((await tables())['catalog']).toContain('products');
    await migrateModules(database.config, { modules, only: ['payments'] });
    expect((await tables())['payments']).toContain('charges');
  });

  it('names the modules when asked for one that does not exist', async () => {
    await expect(migrateModules(database.config, { modules, only: ['billing'] })).rejects.toThrow(
      'unknown module billing; modules are catalog, users, payments, orders',
    );
  });
});
