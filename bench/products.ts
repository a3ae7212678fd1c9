/**
 * Product answers for the replay benchmark: the same bytes for the same id in every process, so
 * the capture generator and the candidate servers agree without sharing state. Bodies are small
 * realistic catalogue JSON (~300–600 bytes), varied by id through a tiny deterministic generator.
 */

/** mulberry32: a seeded generator, so product `id` is the same product everywhere. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const adjectives = ['Weeping', 'Creeping', 'Variegated', 'Dwarf', 'Climbing', 'Golden', 'Rubber', 'Fiddle-leaf'];
const plants = ['fig', 'banyan', 'ivy', 'monstera', 'philodendron', 'pothos', 'ficus benjamina', 'strangler fig'];
const sizes = ['sapling', 'cutting', 'potted 12 cm', 'potted 19 cm', 'bonsai', 'standard 1.2 m'];
const tags = ['indoor', 'outdoor', 'low-light', 'pet-safe', 'fast-growing', 'air-purifying', 'tropical', 'rare'];

/** The JSON body the catalogue answers for product `id`. */
export function productBody(id: number): string {
  const random = seeded(id);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const name = `${pick(adjectives)} ${pick(plants)} ${pick(sizes)}`;
  const tagCount = 1 + Math.floor(random() * 4);
  return JSON.stringify({
    id: `prd_${id.toString(36).padStart(6, '0')}`,
    sku: `FIG-${String(id).padStart(6, '0')}`,
    name,
    description: `${name}. Ships in a recycled pot with care instructions; ${pick(tags)} and ${pick(tags)}.`,
    priceCents: 490 + Math.floor(random() * 20_000),
    currency: pick(['EUR', 'EUR', 'GBP', 'USD']),
    available: Math.floor(random() * 200),
    tags: Array.from({ length: tagCount }, () => pick(tags)),
    dimensions: { heightCm: 10 + Math.floor(random() * 150), potCm: pick([9, 12, 15, 19, 24]) },
    category: { id: `cat_${Math.floor(random() * 40)}`, path: ['plants', pick(['indoor', 'outdoor', 'bonsai'])] },
    rating: { average: Math.round((3 + random() * 2) * 10) / 10, count: Math.floor(random() * 900) },
    updatedAt: new Date(Date.UTC(2025, 0, 1) + Math.floor(random() * 3e10)).toISOString(),
  });
}

/** The product id in `/api/v1/products/<id>`, or undefined for any other path. */
export function productId(path: string): number | undefined {
  const match = /^\/api\/v1\/products\/(\d+)$/.exec(path);
  return match ? Number(match[1]) : undefined;
}
