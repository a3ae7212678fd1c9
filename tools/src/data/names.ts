import { createHash } from 'node:crypto';
import { databaseName } from '../../../platform/src/index.js';

/** PostgreSQL truncates longer identifiers (NAMEDATALEN - 1). */
const maxIdentifier = 63;

/**
 * The one name of a pair's publication, subscription and replication slot, e.g.
 * `ficus_catalog_3f9a1c0b`. Slots and subscriptions are cluster-wide, and both databases (or
 * several test databases) may share a server, so the name carries a hash of the module and of
 * both database names: two pairs never collide, and the same pair always finds its own objects.
 */
export function replicationName(pair: {
  module: string;
  schema: string;
  sourceUrl: string;
  targetUrl: string;
}): string {
  const hash = createHash('sha256')
    .update(`${pair.module}\0${databaseName(pair.sourceUrl)}\0${databaseName(pair.targetUrl)}`)
    .digest('hex')
    .slice(0, 8);
  const stem = pair.schema
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .slice(0, maxIdentifier - 'ficus_'.length - 1 - hash.length);
  return `ficus_${stem}_${hash}`;
}

/** A double-quoted identifier, e.g. a schema or table name inside a DDL statement. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** `"schema"."table"`. */
export function qualified(schema: string, table: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(table)}`;
}

/** A postgres:// URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '';
    parsed.searchParams.delete('options');
    return parsed.toString().replace(/:@/, '@');
  } catch {
    return '(an unparsable URL)';
  }
}
