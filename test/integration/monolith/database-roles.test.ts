import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Knex } from '../../../platform/src/index.js';
import { moduleUrl } from '../../../monolith/src/database.js';
import { definedModules as modules } from '../../../monolith/src/modules.js';
import { createTestDatabase, type TestDatabase } from '../../kit/database.js';

let database: TestDatabase;
let orders: Knex;

beforeAll(async () => {
  database = await createTestDatabase();
  const definition = modules.find((m) => m.manifest.name === 'orders')!;
  orders = createDb(moduleUrl(database.config, definition), { poolMax: 1 });
});
afterAll(async () => {
  await orders.destroy();
  await database.drop();
});

describe("each module's database role reaches its own schema only", () => {
  it('connects as the orders role', async () => {
    const { rows } = await orders.raw('select current_user');
    expect(rows[0].current_user).toBe('ficus_orders');
  });

  it("fails with a permission error when the orders role selects from catalog's table", async () => {
    await expect(orders.raw('select * from catalog.products')).rejects.toMatchObject({
      code: '42501',
      message: expect.stringContaining('permission denied for schema catalog'),
    });
  });

  it("cannot write into another module's schema either", async () => {
    await expect(
      orders.raw(
        "insert into payments.charges (reference, amount_cents, currency, card_last4, status) values ('x', 1, 'EUR', '4242', 'succeeded')",
      ),
    ).rejects.toMatchObject({ code: '42501' });
  });

  it('cannot create tables outside its schema', async () => {
    await expect(orders.raw('create table public.sneaky (id int)')).rejects.toMatchObject({ code: '42501' });
  });

  it('reads and writes its own schema', async () => {
    const { rows } = await orders.raw('select count(*)::int as n from orders.orders');
    expect(rows[0].n).toBe(0);
    const [inserted] = await orders('orders.orders')
      .insert({ user_id: '00000000-0000-4000-8000-000000000001', status: 'pending' })
      .returning('id');
    const read = await orders('orders.orders').where({ id: inserted.id }).first();
    expect(read.status).toBe('pending');
    expect(await orders('orders.orders').where({ id: inserted.id }).del()).toBe(1);
  });
});
