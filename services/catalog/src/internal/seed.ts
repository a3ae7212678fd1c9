// Copied by ficus extract from monolith/src/modules/catalog/internal/seed.ts; the catalog service owns this file now.
import type { Knex } from '../../../../platform/src/index.js';

const demoProducts = [
  {
    sku: 'FIG-001',
    name: 'Strangler fig sapling',
    description: 'Ficus aurea, 30 cm',
    price_cents: 2490,
    available: 25,
  },
  {
    sku: 'FIG-002',
    name: 'Banyan bonsai',
    description: 'Ficus benghalensis, 10 years',
    price_cents: 8900,
    available: 8,
  },
  { sku: 'POT-010', name: 'Terracotta pot', description: '20 cm, drainage hole', price_cents: 1290, available: 120 },
  { sku: 'SOIL-05', name: 'Potting soil', description: '5 l bag', price_cents: 690, available: 300 },
  { sku: 'TOOL-01', name: 'Pruning shears', description: 'Bypass blades', price_cents: 1990, available: 0 },
];

/** Demo products; running it again leaves existing rows alone. */
export async function seedCatalog(db: Knex): Promise<void> {
  await db.transaction(async (trx) => {
    for (const { available, ...product } of demoProducts) {
      const inserted = await trx('products')
        .insert({ ...product, currency: 'EUR' })
        .onConflict('sku')
        .ignore()
        .returning<Array<{ id: string }>>('id');
      if (inserted[0]) await trx('stock_levels').insert({ product_id: inserted[0].id, available });
    }
  });
}
