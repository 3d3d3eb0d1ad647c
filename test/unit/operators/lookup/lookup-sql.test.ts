/**
 * The SQL `lookup_join` sends (lookup-sql.ts): `$column` parameters found outside literals, quoted names and comments;
 * one statement per lookup, keys as arrays cast to the input column's type. lookup-join.test.ts runs these
 * statements on DuckDB and PostgreSQL.
 */
import { describe, expect, it } from 'vitest';
import type { ColumnType } from '../../../../engine/api.js';
import { lookupStatement, queryParams } from '../../../../operators/lookup/lookup-sql.js';

const types: Record<string, ColumnType> = { customer_id: 'string', since: 'timestamp', n: 'int64', doc: 'json' };
const inputType = (c: string) => types[c];

describe('queryParams', () => {
  it('finds $names outside string literals, quoted identifiers and comments', () => {
    const q = `SELECT '$no', 'it''s $no', "$no" FROM t -- $no\nWHERE a = $customer_id /* $no */ AND b > $n AND c = '$no'`;
    expect(queryParams(q).map((p) => [p.name, q.slice(p.start, p.end)])).toEqual([
      ['customer_id', '$customer_id'],
      ['n', '$n'],
    ]);
    expect(queryParams("SELECT 'unterminated $x")).toEqual([]);
    expect(() => queryParams('SELECT * FROM t WHERE id = $1')).toThrow(/named after input columns/);
  });
});

describe('lookupStatement', () => {
  it('by key: one equality per `on` pair, keys cast to their column types', () => {
    const s = lookupStatement('postgres', { table: 'analytics.customers', on: { customer_id: 'id', n: 'version' }, select: ['tier'] }, inputType);
    expect(s.params).toEqual([
      { column: 'customer_id', type: 'string' },
      { column: 'n', type: 'int64' },
    ]);
    expect(s.sql).toBe(
      'SELECT _abflow_keys.i, row_to_json(q)::text AS r FROM (SELECT unnest($1::integer[]) AS i, CAST(unnest($2::text[]) AS text) AS p0, CAST(unnest($3::text[]) AS bigint) AS p1) _abflow_keys, ' +
        'LATERAL (SELECT t."tier" FROM analytics.customers t WHERE t."id" = _abflow_keys.p0 AND t."version" = _abflow_keys.p1) q',
    );
  });

  it('by query: each $column becomes its key, a column used twice is one parameter', () => {
    const s = lookupStatement('duckdb', { query: 'SELECT * FROM o WHERE c = $customer_id AND at > $since AND c2 = $customer_id' }, inputType);
    expect(s.params.map((p) => p.column)).toEqual(['customer_id', 'since']);
    expect(s.sql).toContain('CAST(to_json(q) AS VARCHAR) AS r');
    expect(s.sql).toContain('CAST(unnest($3::VARCHAR[]) AS TIMESTAMPTZ) AS p1');
    expect(s.sql).toContain('LATERAL (SELECT * FROM o WHERE c = _abflow_keys.p0 AND at > _abflow_keys.p1 AND c2 = _abflow_keys.p0) q');
    // A json column is compared as its text.
    expect(lookupStatement('duckdb', { query: 'SELECT 1 WHERE $doc IS NOT NULL' }, inputType).sql).toContain('AS VARCHAR) AS p0');
  });

  it('names what is wrong: an unknown column, a query without parameters', () => {
    expect(() => lookupStatement('duckdb', { query: 'SELECT 1 WHERE x = $nope' }, inputType)).toThrow(/the input has no column `nope`/);
    expect(() => lookupStatement('duckdb', { table: 't', on: { nope: 'id' }, select: null }, inputType)).toThrow(/the input has no column `nope`/);
    expect(() => lookupStatement('duckdb', { query: "SELECT 1 WHERE x = '$customer_id'" }, inputType)).toThrow(/uses no input column/);
  });
});
