/**
 * Strict conversion of parsed JSON values into typed Arrow columns, shared by the JSON decoders. A value that does
 * not fit its declared type is reported (never coerced silently): the caller dead-letters the record.
 */
import { type ColumnBuilder, type ColumnType, parseTimestamp, parseTimestampMicros } from '../../engine/api.js';

const DAY_MS = 86_400_000;

/** Why a JSON value does not fit its column; allocated only for bad values, so the good path allocates nothing. */
export class Misfit {
  constructor(readonly reason: string) {}
}

/** The value to append (null for JSON null or a missing field), or a Misfit saying why it does not fit. */
export function convertJson(v: unknown, type: ColumnType): unknown {
  if (v === null || v === undefined) return null;
  switch (type) {
    case 'string':
      // A number or boolean in a text column is kept as its JSON text, as DuckDB's and Airbyte's readers do when a
      // column's values disagree (inference widens such a column to text); an object or list is a misfit.
      if (typeof v === 'string') return v;
      return typeof v === 'number' || typeof v === 'boolean' ? JSON.stringify(v) : new Misfit(`expected a string, got ${describe(v)}`);
    case 'json':
      return JSON.stringify(v);
    case 'bool':
      return typeof v === 'boolean' ? v : new Misfit(`expected a boolean, got ${describe(v)}`);
    case 'int32':
    case 'int64':
      if (typeof v !== 'number' || !Number.isInteger(v)) return new Misfit(`expected an integer, got ${describe(v)}`);
      if (!Number.isSafeInteger(v)) return new Misfit(`integer ${v} is beyond ±2^53 and lost precision in JSON`);
      if (type === 'int32' && (v > 2147483647 || v < -2147483648)) return new Misfit(`integer ${v} does not fit int32`);
      return v;
    case 'float64':
      if (typeof v !== 'number') return new Misfit(`expected a number, got ${describe(v)}`);
      // JSON.parse reads 1e400 as Infinity: a float64 cannot hold it, and writing it as infinity (or NULL) would change it.
      return Number.isFinite(v) ? v : new Misfit(`a number beyond float64 (read as ${v})`);
    case 'timestamp': {
      // Epoch ms (a number), or ISO text to the microsecond (epoch µs, a bigint: see ColumnBuilder.appendNumber).
      if (typeof v === 'number' && Number.isFinite(v)) return Math.trunc(v);
      const us = typeof v === 'string' ? parseTimestampMicros(v) : null;
      return us === null ? new Misfit(`expected an ISO 8601 timestamp or epoch ms, got ${describe(v)}`) : us;
    }
    case 'date': {
      const ms = typeof v === 'string' && /^[+-]?\d{4,6}-\d{2}-\d{2}$/.test(v) ? parseTimestamp(v) : null;
      return ms === null ? new Misfit(`expected a date YYYY-MM-DD, got ${describe(v)}`) : Math.floor(ms / DAY_MS);
    }
  }
}

export function appendConverted(b: ColumnBuilder, value: unknown): void {
  if (value === null) b.appendNull();
  else if (typeof value === 'string') b.appendString(value);
  else if (typeof value === 'boolean') b.appendBool(value);
  else b.appendNumber(value as number | bigint);
}

function describe(v: unknown): string {
  const s = JSON.stringify(v);
  const shown = s.length > 40 ? s.slice(0, 37) + '...' : s;
  return `${Array.isArray(v) ? 'a list' : typeof v} ${shown}`;
}

/** Infers a column type from sample values (for JSONL files without a declared schema). */
export function inferType(values: unknown[]): ColumnType {
  const present = values.filter((v) => v !== null && v !== undefined);
  if (!present.length) return 'string';
  if (present.every((v) => typeof v === 'boolean')) return 'bool';
  if (present.every((v) => typeof v === 'number' && Number.isSafeInteger(v))) return 'int64';
  if (present.every((v) => typeof v === 'number')) return 'float64';
  if (present.every((v) => typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v))) return 'date';
  if (present.every((v) => typeof v === 'string' && /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(v) && parseTimestamp(v) !== null)) return 'timestamp';
  return 'string';
}
