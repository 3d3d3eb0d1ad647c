/**
 * @module compile/schema-json
 * Schemas as plain data, for crossing to worker threads (Arrow `Schema` instances do not survive structured clone).
 */
import type { Schema } from 'apache-arrow';
import { type ColumnType, fieldsOf, schemaOf } from '../types.js';

export type SchemaJson = readonly { readonly name: string; readonly type: ColumnType }[];

export function schemaToJson(s: Schema): SchemaJson {
  return fieldsOf(s);
}

export function schemaFromJson(j: SchemaJson): Schema {
  return schemaOf(Object.fromEntries(j.map((f) => [f.name, f.type])));
}
