/**
 * Airbyte catalog → Arrow schema. Each stream's JSON-schema properties become typed columns, following Airbyte's
 * type system (docs: understanding-airbyte/supported-data-types): `airbyte_type` integer → int64, big_number →
 * string (exact decimal text), timestamps with and without zone → timestamp, date → date, time → string; objects,
 * arrays, unions of different types and untyped properties → json. A stream without declared properties gets one
 * `_airbyte_data` json column holding the whole record. Airbyte's meta columns follow the data columns.
 * Accepts a catalog (`discover` output) or a configured catalog (with sync modes and generation ids).
 */
import { readFileSync } from 'node:fs';
import { AbflowError, type ColumnType, type Decoder, type Schema, type SchemaSpec, schemaOf, z } from '../../engine/api.js';
import { LINES_SCHEMA } from '../jsonl/lines.js';
import { airbyteStream, configuredStream, type ConfiguredStream, streamKey } from './protocol.js';

interface JsonSchema {
  type?: string | string[];
  format?: string;
  airbyte_type?: string;
  $ref?: string;
  properties?: Record<string, JsonSchema>;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
}

export const META = {
  rawId: '_airbyte_raw_id',
  extractedAt: '_airbyte_extracted_at',
  meta: '_airbyte_meta',
  generationId: '_airbyte_generation_id',
} as const;
export const META_COLUMNS: SchemaSpec = { [META.rawId]: 'string', [META.extractedAt]: 'timestamp', [META.meta]: 'json', [META.generationId]: 'int64' };
/** The column holding the whole record of a stream whose schema declares no properties. */
export const DATA_COLUMN = '_airbyte_data';

export interface CatalogStream {
  readonly name: string;
  readonly namespace: string | null;
  readonly port: string;
  /** Data columns (from the JSON schema), in declaration order; `null` name: the whole record (`_airbyte_data`). */
  readonly data: readonly (readonly [string, ColumnType])[];
  readonly wholeRecord: boolean;
  /** Data columns followed by the meta columns. */
  readonly columns: SchemaSpec;
  readonly configured: Omit<ConfiguredStream, 'stream'> | null;
}

/** Airbyte's `WellKnownTypes.json` definitions (the v1 catalogs refer to them with `$ref`). */
const WELL_KNOWN: Record<string, ColumnType> = {
  String: 'string',
  BinaryData: 'string',
  Date: 'date',
  TimestampWithTimezone: 'timestamp',
  TimestampWithoutTimezone: 'timestamp',
  TimeWithTimezone: 'string',
  TimeWithoutTimezone: 'string',
  Number: 'float64',
  Integer: 'int64',
  Boolean: 'bool',
};

export function columnTypeForJsonSchema(s: JsonSchema): ColumnType {
  if (s.$ref) return WELL_KNOWN[s.$ref.split('/').pop()!] ?? 'json';
  const variants = s.oneOf ?? s.anyOf;
  if (variants?.length) {
    const types = variants.filter((v) => v.type !== 'null').map(columnTypeForJsonSchema);
    return types.length && types.every((t) => t === types[0]) ? types[0]! : 'json';
  }
  const types = (Array.isArray(s.type) ? s.type : s.type ? [s.type] : []).filter((t) => t !== 'null');
  if (types.length !== 1) return 'json';
  switch (types[0]) {
    case 'boolean':
      return 'bool';
    case 'integer':
      return 'int64';
    case 'number':
      if (s.airbyte_type === 'integer') return 'int64';
      return s.airbyte_type === 'big_number' || s.airbyte_type === 'big_integer' ? 'string' : 'float64';
    case 'string':
      if (s.airbyte_type === 'big_number' || s.airbyte_type === 'big_integer') return 'string';
      if (s.airbyte_type?.startsWith('time_')) return 'string';
      if (s.format === 'date-time' || s.airbyte_type?.startsWith('timestamp')) return 'timestamp';
      if (s.format === 'date') return 'date';
      return 'string';
    default:
      return 'json';
  }
}

export function portName(stream: string): string {
  const p = stream.replace(/[^A-Za-z0-9_-]/g, '_');
  return /^[A-Za-z_]/.test(p) ? p : `_${p}`;
}

const catalogFile = z.looseObject({ streams: z.array(z.union([configuredStream, airbyteStream])) });

export function parseCatalog(text: string, where: string): CatalogStream[] {
  let doc: z.output<typeof catalogFile>;
  try {
    const r = catalogFile.safeParse(JSON.parse(text));
    if (!r.success) {
      const issue = r.error.issues[0]!;
      throw new Error(`${issue.path.join('.') || 'catalog'}: ${issue.message}`);
    }
    doc = r.data;
  } catch (e) {
    throw new AbflowError('config', `catalog ${where} is not an Airbyte catalog: ${(e as Error).message}`, { path: ['catalog'] });
  }
  const entries = doc.streams.map((entry) => ('stream' in entry && typeof entry.stream === 'object' ? (entry as ConfiguredStream) : null));
  const streams = doc.streams.map((entry, i) => (entries[i] ? entries[i]!.stream : (entry as z.output<typeof airbyteStream>)));
  const names = new Map<string, number>();
  for (const s of streams) names.set(s.name, (names.get(s.name) ?? 0) + 1);
  const seenKeys = new Set<string>();
  const seenPorts = new Set<string>();
  return streams.map((s, i) => {
    const namespace = s.namespace ?? null;
    const key = streamKey(s.name, namespace);
    if (seenKeys.has(key)) throw new AbflowError('config', `catalog ${where} lists stream \`${s.name}\` twice`, { path: ['catalog'] });
    seenKeys.add(key);
    // Ports are stream names; the namespace is added only where two namespaces share a name.
    const port = portName(names.get(s.name)! > 1 && namespace ? `${namespace}_${s.name}` : s.name);
    if (seenPorts.has(port)) throw new AbflowError('config', `streams of catalog ${where} map to the same output name \`${port}\``, { path: ['catalog'] });
    seenPorts.add(port);
    const props = Object.entries((s.json_schema as JsonSchema).properties ?? {});
    const data: [string, ColumnType][] = props.length ? props.map(([name, p]) => [name, columnTypeForJsonSchema(p)]) : [[DATA_COLUMN, 'json']];
    const { stream: _stream, ...configured } = entries[i] ?? { stream: null };
    return {
      name: s.name,
      namespace,
      port,
      data,
      wholeRecord: !props.length,
      columns: { ...Object.fromEntries(data), ...META_COLUMNS },
      configured: entries[i] ? (configured as Omit<ConfiguredStream, 'stream'>) : null,
    };
  });
}

export function readCatalog(path: string): CatalogStream[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new AbflowError('config', `cannot read catalog ${path}: ${(e as Error).message}`, { path: ['catalog'] });
  }
  return parseCatalog(text, path);
}

/** The `airbyte_decode` stage for these streams, and the schemas the plan sees. */
export function decoderFor(streams: readonly CatalogStream[], maxLineBytes: number): Decoder {
  return {
    kind: 'airbyte_decode',
    config: {
      maxLineBytes,
      streams: streams.map((s) => ({
        name: s.name,
        namespace: s.namespace,
        port: s.port,
        data: s.data,
        wholeRecord: s.wholeRecord,
        generationId: s.configured?.generation_id ?? null,
        syncId: s.configured?.sync_id ?? null,
      })),
    },
    input: LINES_SCHEMA,
  };
}

export function schemasOf(streams: readonly CatalogStream[]): Record<string, Schema> {
  return Object.fromEntries(streams.map((s) => [s.port, schemaOf(s.columns)]));
}
