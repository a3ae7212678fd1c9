import { describe, expect, it } from 'vitest';
import { stableTextUrl } from '../../../tools/src/data/checksums.js';
import { formatVerify } from '../../../tools/src/data/format.js';
import { redactUrl, replicationName } from '../../../tools/src/data/names.js';
import { shapeDifferences, type TableShape } from '../../../tools/src/data/tables.js';

const pair = (source: string, target: string, schema = 'catalog') => ({
  module: 'catalog',
  schema,
  sourceUrl: `postgres://u:p@db:5432/${source}`,
  targetUrl: `postgres://u:p@db:5432/${target}`,
});

describe('replication names', () => {
  it('are the same for the same pair and differ when either database differs', () => {
    const name = replicationName(pair('app', 'ficus_catalog'));
    expect(name).toMatch(/^ficus_catalog_[0-9a-f]{8}$/);
    expect(replicationName(pair('app', 'ficus_catalog'))).toBe(name);
    expect(replicationName(pair('app2', 'ficus_catalog'))).not.toBe(name);
    expect(replicationName(pair('app', 'ficus_catalog_test'))).not.toBe(name);
  });

  it('stay within PostgreSQL identifiers of 63 characters', () => {
    expect(replicationName(pair('app', 'svc', 'a'.repeat(80))).length).toBeLessThanOrEqual(63);
  });
});

describe('connection URLs in messages and for checksums', () => {
  it('drops the password and the session options', () => {
    expect(redactUrl('postgres://admin:s3cret@db.internal:5432/app')).toBe('postgres://admin@db.internal:5432/app');
    expect(redactUrl(stableTextUrl('postgres://admin:s3cret@db/app?sslmode=require'))).toBe(
      'postgres://admin@db/app?sslmode=require',
    );
  });

  it('fixes the settings a row text form depends on, keeping options the user gave', () => {
    const options = new URL(stableTextUrl('postgres://u@db/app?options=-c%20work_mem%3D64MB')).searchParams.get(
      'options',
    );
    expect(options).toContain('-c work_mem=64MB');
    expect(options).toContain('-c TimeZone=UTC');
    expect(options).toContain('-c extra_float_digits=1');
  });
});

const table = (name: string, columns: [string, string, boolean?, boolean?][]): TableShape => ({
  name,
  columns: columns.map(([column, type, notNull = false, hasDefault = false]) => ({
    name: column,
    type,
    notNull,
    hasDefault,
  })),
  primaryKey: ['id'],
});

describe('table shapes', () => {
  const products = table('products', [
    ['id', 'uuid', true, true],
    ['sku', 'text', true],
    ['price_cents', 'integer', true],
  ]);

  it('names missing tables and columns and differing types, with both types', () => {
    const target = table('products', [
      ['id', 'uuid', true, true],
      ['price_cents', 'bigint', true],
    ]);
    expect(shapeDifferences('catalog', [products, table('stock_levels', [['id', 'uuid']])], [target])).toEqual([
      'products.sku (text) is missing on the target',
      'products.price_cents is integer on the source but bigint on the target',
      'table catalog.stock_levels is missing on the target',
    ]);
  });

  it('accepts an extra target column that replicated inserts can leave empty, but not a required one', () => {
    const target = table('products', [
      ...products.columns.map((c) => [c.name, c.type, c.notNull, c.hasDefault] as [string, string, boolean, boolean]),
      ['note', 'text'],
      ['created_by', 'text', true, true],
      ['owner', 'text', true],
    ]);
    expect(shapeDifferences('catalog', [products], [target])).toEqual([
      'products.owner (text) exists only on the target and is NOT NULL without a default',
    ]);
  });
});

describe('the verify report', () => {
  it('names each differing key range with rows and checksums on both sides, and the keys', () => {
    const report = formatVerify({
      module: 'catalog',
      name: 'ficus_catalog_00000000',
      syncing: true,
      equal: false,
      seconds: 1.5,
      rowsPerSecond: 1000,
      sequences: [],
      tables: [
        {
          table: 'reservation_lines',
          primaryKey: ['reservation_id', 'product_id'],
          sourceRows: 3,
          targetRows: 2,
          equal: false,
          differences: [
            {
              from: ['r1', 'p1'],
              to: null,
              source: { rows: 3, checksum: '42' },
              target: { rows: 2, checksum: '40' },
              missingOnTarget: [['r1', 'p2']],
              onlyOnTarget: [],
              changed: [],
            },
          ],
        },
      ],
    });
    expect(report).toContain(
      'reservation_lines: (reservation_id, product_id) from (r1, p1) to the last: source 3 rows checksum 42, ' +
        'target 2 rows checksum 40',
    );
    expect(report).toContain('  missing on the target: (r1, p2)');
  });
});
