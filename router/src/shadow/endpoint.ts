/** Segments that identify one resource among many: numbers, UUIDs, long hex or opaque ids. */
const idLike = /^(\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{12,}|[A-Za-z0-9_-]{20,})$/i;

/**
 * The endpoint template a request belongs to, for aggregating parity: the method and the path
 * without its query, id-like segments as `:id` (`GET /api/v1/catalog/products/:id`).
 */
export function endpointOf(method: string, target: string): string {
  const query = target.indexOf('?');
  const path = query < 0 ? target : target.slice(0, query);
  return `${method} ${path
    .split('/')
    .map((segment) => (idLike.test(segment) ? ':id' : segment))
    .join('/')}`;
}
