// Copied by ficus extract from monolith/src/modules/catalog/internal/products.ts; the catalog service owns this file now.
import type { Knex } from '../../../../platform/src/index.js';
import { FicusError } from '../../../../platform/src/index.js';

/** A product as the catalog shows it: price and stock available now. */
export interface Product {
  id: string;
  sku: string;
  name: string;
  description: string;
  priceCents: number;
  currency: string;
  available: number;
}

export interface NewProduct {
  sku: string;
  name: string;
  description?: string | undefined;
  priceCents: number;
  currency: string;
  available: number;
}

interface ProductRow {
  id: string;
  sku: string;
  name: string;
  description: string;
  price_cents: number;
  currency: string;
  available: number | null;
}

const columns = ['p.id', 'p.sku', 'p.name', 'p.description', 'p.price_cents', 'p.currency', 's.available'];

function toProduct(row: ProductRow): Product {
  return {
    id: row.id,
    sku: row.sku,
    name: row.name,
    description: row.description,
    priceCents: row.price_cents,
    currency: row.currency,
    available: row.available ?? 0,
  };
}

function selectProducts(db: Knex) {
  return db<ProductRow>({ p: 'products' }).leftJoin({ s: 'stock_levels' }, 's.product_id', 'p.id').select(columns);
}

export async function listProducts(db: Knex, page: { limit: number; offset: number }): Promise<Product[]> {
  const rows: ProductRow[] = await selectProducts(db).orderBy('p.sku').limit(page.limit).offset(page.offset);
  return rows.map(toProduct);
}

export async function getProduct(db: Knex, id: string): Promise<Product> {
  const row: ProductRow | undefined = await selectProducts(db).where('p.id', id).first();
  if (!row) throw new FicusError('FICUS_ERR_NOT_FOUND', `product ${id} does not exist`);
  return toProduct(row);
}

export async function createProduct(db: Knex, input: NewProduct): Promise<Product> {
  return db.transaction(async (trx) => {
    const inserted = await trx('products')
      .insert({
        sku: input.sku,
        name: input.name,
        description: input.description ?? '',
        price_cents: input.priceCents,
        currency: input.currency,
      })
      .onConflict('sku')
      .ignore()
      .returning('id');
    const id = (inserted[0] as { id: string } | undefined)?.id;
    if (!id)
      throw new FicusError(
        'FICUS_ERR_CONFLICT',
        `a product with sku "${input.sku}" already exists; choose another sku`,
      );
    await trx('stock_levels').insert({ product_id: id, available: input.available });
    return getProduct(trx, id);
  });
}

export async function setStock(db: Knex, id: string, available: number): Promise<Product> {
  return db.transaction(async (trx) => {
    const updated = await trx('stock_levels').where({ product_id: id }).update({ available, updated_at: trx.fn.now() });
    if (updated === 0) throw new FicusError('FICUS_ERR_NOT_FOUND', `product ${id} does not exist`);
    return getProduct(trx, id);
  });
}
