/**
 * @module types
 * abflow's column types and their one mapping to Arrow. Plans name types with these words; everything inside the
 * engine is an Arrow `Schema`. A `timestamp` is stored as Arrow `Timestamp(us)` (UTC), as DuckDB, PostgreSQL and Parquet keep
 * them; code that computes with times (event time, windows, expressions) sees epoch milliseconds, converted where
 * columns are read and built (arrow/columns).
 */
import { Bool, DataType, DateDay, Field, Float64, Int32, Int64, Schema, TimestampMicrosecond, Type, Utf8 } from 'apache-arrow';
import { z } from 'zod';

export const COLUMN_TYPES = ['bool', 'int32', 'int64', 'float64', 'string', 'json', 'timestamp', 'date'] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

export const columnTypeSchema = z
  .enum(COLUMN_TYPES)
  .describe('Column type: bool, int32, int64, float64, string, json (JSON text), timestamp (UTC, to the microsecond) or date.');

/** `json` columns are UTF-8 JSON text tagged with Arrow's canonical JSON extension type; everything that does not
 * know JSON (expressions, windows) reads them as strings. */
const EXTENSION_NAME = 'ARROW:extension:name';
const JSON_EXTENSION = 'arrow.json';

export function toArrowType(t: ColumnType): DataType {
  switch (t) {
    case 'bool':
      return new Bool();
    case 'int32':
      return new Int32();
    case 'int64':
      return new Int64();
    case 'float64':
      return new Float64();
    case 'string':
    case 'json':
      return new Utf8();
    case 'timestamp':
      return new TimestampMicrosecond();
    case 'date':
      return new DateDay();
  }
}

/** The physical abflow type of an Arrow type (`json` reads as `string`; `fieldType` gives the logical type);
 * Arrow types abflow does not model are reported, not guessed. */
export function columnTypeOf(dt: DataType): ColumnType {
  switch (dt.typeId) {
    case Type.Bool:
      return 'bool';
    case Type.Int:
      return (dt as unknown as { bitWidth: number }).bitWidth === 64 ? 'int64' : 'int32';
    case Type.Float:
      return 'float64';
    case Type.Utf8:
      return 'string';
    case Type.Timestamp:
      return 'timestamp';
    case Type.Date:
      return 'date';
    default:
      throw new Error(`unsupported Arrow type ${String(dt)}`);
  }
}

/** Field metadata marking a column that carries a source's original message text for the sinks that read it
 * (SinkSpec.readsSourceText); every other sink gets its input without such columns. */
export const SOURCE_TEXT = 'abflow.source_text';

/** `schema` without its source-text columns (see SOURCE_TEXT), and the indices of the columns kept. */
export function withoutSourceText(schema: Schema): { schema: Schema; kept: number[] | null } {
  const kept = schema.fields.flatMap((f, i) => (f.metadata.get(SOURCE_TEXT) ? [] : [i]));
  return kept.length === schema.fields.length
    ? { schema, kept: null }
    : {
        schema: new Schema(
          kept.map((i) => schema.fields[i]!),
          schema.metadata,
        ),
        kept,
      };
}

export type SchemaSpec = Readonly<Record<string, ColumnType>>;

export function fieldOf(name: string, t: ColumnType): Field {
  return new Field(name, toArrowType(t), true, t === 'json' ? new Map([[EXTENSION_NAME, JSON_EXTENSION]]) : undefined);
}

export function schemaOf(spec: SchemaSpec): Schema {
  return new Schema(Object.entries(spec).map(([name, t]) => fieldOf(name, t)));
}

/** The logical abflow type of a field: its physical type, or `json` for JSON-tagged text. */
export function fieldType(f: Field): ColumnType {
  const t = columnTypeOf(f.type);
  return t === 'string' && f.metadata.get(EXTENSION_NAME) === JSON_EXTENSION ? 'json' : t;
}

export function fieldsOf(schema: Schema): { name: string; type: ColumnType }[] {
  return schema.fields.map((f) => ({ name: f.name, type: fieldType(f) }));
}

/** `a: int64, b: string` — how schemas appear in messages and `explain`. */
export function describeSchema(schema: Schema): string {
  return fieldsOf(schema)
    .map((f) => `${f.name}: ${f.type}`)
    .join(', ');
}

export function isNumeric(t: ColumnType): boolean {
  return t === 'int32' || t === 'int64' || t === 'float64';
}
