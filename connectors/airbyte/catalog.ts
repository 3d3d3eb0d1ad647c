/**
 * Airbyte catalog → Arrow schema. A stream's JSON schema properties become columns (nested objects and arrays are
 * kept as JSON text), plus `_airbyte_emitted_at`. Stream names become output port names with characters that ports
 * cannot hold replaced by `_`.
 */
import { readFileSync } from 'node:fs';
import { AbflowError, type ColumnType, type SchemaSpec } from '../../engine/api.js';

interface JsonSchema {
  type?: string | string[];
  format?: string;
  airbyte_type?: string;
  properties?: Record<string, JsonSchema>;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
}

export interface CatalogStream {
  readonly name: string;
  readonly namespace?: string;
  readonly port: string;
  readonly columns: SchemaSpec;
}

export const EMITTED_AT = '_airbyte_emitted_at';

export function columnTypeForJsonSchema(s: JsonSchema): ColumnType {
  const variants = s.oneOf ?? s.anyOf;
  if (variants?.length) {
    const types = variants.map(columnTypeForJsonSchema);
    return types.every((t) => t === types[0]) ? types[0]! : 'string';
  }
  const types = (Array.isArray(s.type) ? s.type : s.type ? [s.type] : []).filter((t) => t !== 'null');
  if (types.length !== 1) return 'string';
  switch (types[0]) {
    case 'boolean':
      return 'bool';
    case 'integer':
      return 'int64';
    case 'number':
      return s.airbyte_type === 'integer' ? 'int64' : 'float64';
    case 'string':
      if (s.format === 'date-time' || s.airbyte_type?.startsWith('timestamp')) return 'timestamp';
      if (s.format === 'date') return 'date';
      return 'string';
    default:
      return 'string';
  }
}

export function portName(stream: string): string {
  const p = stream.replace(/[^A-Za-z0-9_-]/g, '_');
  return /^[A-Za-z_]/.test(p) ? p : `_${p}`;
}

export function readCatalog(path: string): CatalogStream[] {
  let doc: { streams?: unknown[] };
  try {
    doc = JSON.parse(readFileSync(path, 'utf8')) as { streams?: unknown[] };
  } catch (e) {
    throw new AbflowError('config', `cannot read catalog ${path}: ${(e as Error).message}`, { path: ['catalog'] });
  }
  if (!Array.isArray(doc.streams)) throw new AbflowError('config', `catalog ${path} has no "streams" list`, { path: ['catalog'] });
  const seen = new Set<string>();
  return doc.streams.map((entry) => {
    // A configured catalog wraps each stream as { stream: {...}, sync_mode, ... }.
    const s = ((entry as { stream?: unknown }).stream ?? entry) as { name: string; namespace?: string; json_schema?: JsonSchema };
    const port = portName(s.name);
    if (seen.has(port)) throw new AbflowError('config', `streams map to the same output name \`${port}\``, { path: ['catalog'] });
    seen.add(port);
    const columns: Record<string, ColumnType> = {};
    for (const [name, prop] of Object.entries(s.json_schema?.properties ?? {})) columns[name] = columnTypeForJsonSchema(prop);
    columns[EMITTED_AT] = 'timestamp';
    return { name: s.name, ...(s.namespace ? { namespace: s.namespace } : {}), port, columns };
  });
}
