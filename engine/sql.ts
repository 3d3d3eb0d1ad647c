/**
 * @module sql
 * What every component that writes SQL for DuckDB or PostgreSQL shares: each abflow column type's name in the two
 * dialects, and quoting. The warehouse sinks build tables with it; `lookup_join` casts its key parameters with it.
 */
import type { ColumnType } from './types.js';

export type SqlDialectName = 'duckdb' | 'postgres';

export const SQL_TYPES: Readonly<Record<SqlDialectName, Readonly<Record<ColumnType, string>>>> = {
  duckdb: {
    bool: 'BOOLEAN',
    int32: 'INTEGER',
    int64: 'BIGINT',
    float64: 'DOUBLE',
    string: 'VARCHAR',
    json: 'JSON',
    timestamp: 'TIMESTAMPTZ',
    date: 'DATE',
  },
  postgres: {
    bool: 'boolean',
    int32: 'integer',
    int64: 'bigint',
    float64: 'double precision',
    string: 'text',
    json: 'jsonb',
    timestamp: 'timestamptz',
    date: 'date',
  },
};

/** Any stream or field name is a valid identifier once quoted (reserved words, `stream-with:spécial:character`). */
export function quoteIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

export function quoteLiteral(s: string): string {
  return "'" + s.replace(/'/g, "''") + "'";
}
