/**
 * Airbyte catalog → Arrow schema. Each stream's JSON-schema properties become typed columns, following Airbyte's
 * type system (docs: understanding-airbyte/supported-data-types): `airbyte_type` integer → int64, big_number →
 * string (exact decimal text), timestamps with and without zone → timestamp, date → date, time → string; objects,
 * arrays, unions of different types and untyped properties → json. A stream without declared properties gets one
 * `_airbyte_data` json column holding the whole record. Airbyte's meta columns follow the data columns.
 * Accepts a catalog (`discover` output) or a configured catalog (with sync modes and generation ids).
 */
import { readFileSync } from 'node:fs';
import { Field, Schema } from 'apache-arrow';
import { AbflowError, type ColumnType, type Decoder, fieldOf, type SchemaSpec, SOURCE_TEXT, z } from '../../engine/api.js';
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

/** The column keeping each RECORD line's original text, for `airbyte_destination` (see `streamSchema`); marked as
 * source text, so no other sink writes it. */
export const RECORD_TEXT = '_abflow_record';

/** Field metadata naming what a column of a decoded stream is (abflow.airbyte: data | whole_record | meta |
 * record_text) and, for data, the record's key it holds (abflow.airbyte.key). Operators that keep a column keep its
 * field; one that replaces or renames it makes a new field without this metadata. */
export const ROLE = 'abflow.airbyte';
export const KEY = 'abflow.airbyte.key';
/** On the record-text column: the stream's declared keys (JSON), so a sink can tell a key the plan removed from one
 * the catalog never declared. */
export const DECLARED = 'abflow.airbyte.declared';

/** A data column: its name in the plan, its type, and the record key it holds. */
export type DataColumn = readonly [column: string, type: ColumnType, key: string];

export interface CatalogStream {
  readonly name: string;
  readonly namespace: string | null;
  readonly port: string;
  /** Data columns (from the JSON schema), in declaration order; without declared properties, one `_airbyte_data`
   * column holding the whole record. */
  readonly data: readonly DataColumn[];
  readonly wholeRecord: boolean;
  /** Data columns followed by the meta columns. */
  readonly columns: SchemaSpec;
  readonly configured: Omit<ConfiguredStream, 'stream'> | null;
}

/**
 * Column names for a stream's keys. Warehouses fold case (DuckDB always, PostgreSQL for what it does not quote, and
 * Snowflake/BigQuery destinations alike), so keys that differ only in case (`Termination_Date`, `Termination_date`)
 * or that take a meta column's name (a replicated Airbyte table's `_airbyte_raw_id`) would collide: the first key in
 * declaration order keeps its name, each later one gets the first free `_1`, `_2`, … suffix — as Airbyte's
 * ColumnNameResolver does. The same names in every sink; each rename is recorded in `_airbyte_meta`.
 */
export function columnNames(keys: readonly string[], reserved: readonly string[]): string[] {
  const taken = new Set(reserved.map((r) => r.toLowerCase()));
  return keys.map((key) => {
    let name = key;
    for (let n = 1; taken.has(name.toLowerCase()); n++) name = `${key}_${n}`;
    taken.add(name.toLowerCase());
    return name;
  });
}

/** The `_airbyte_meta.changes` entries for a stream's renamed keys (change RENAMED is abflow's, beside Airbyte's
 * NULLED and TRUNCATED; the reason says why, `column` where the value went). */
export function renameChanges(data: readonly DataColumn[]): { field: string; change: string; reason: string; column: string }[] {
  return data
    .filter(([column, , key]) => column !== key)
    .map(([column, , key]) => ({ field: key, change: 'RENAMED', reason: 'DESTINATION_FIELD_NAME_COLLISION', column }));
}

/** The schema of a decoded stream: data columns, meta columns, and with `recordText` the original line. */
export function streamSchema(data: readonly DataColumn[], wholeRecord: boolean, recordText: boolean): Schema {
  const tagged = (name: string, type: ColumnType, meta: Record<string, string>) => {
    const f = fieldOf(name, type);
    return new Field(name, f.type, true, new Map([...f.metadata, ...Object.entries(meta)]));
  };
  return new Schema([
    ...data.map(([column, type, key]) => tagged(column, type, wholeRecord ? { [ROLE]: 'whole_record' } : { [ROLE]: 'data', [KEY]: key })),
    ...Object.entries(META_COLUMNS).map(([name, type]) => tagged(name, type, { [ROLE]: 'meta' })),
    ...(recordText
      ? [
          tagged(RECORD_TEXT, 'string', {
            [ROLE]: 'record_text',
            [SOURCE_TEXT]: 'true',
            [DECLARED]: JSON.stringify(wholeRecord ? [] : data.map(([, , key]) => key)),
          }),
        ]
      : []),
  ]);
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

type AirbyteStream = z.output<typeof airbyteStream>;
type CatalogEntry = { stream: AirbyteStream; configured: Omit<ConfiguredStream, 'stream'> | null };

/** A catalog document's `streams`: a catalog, a configured catalog, or a whole `{"type": "CATALOG", …}` message as
 * `discover` prints it. */
function catalogStreams(doc: unknown): unknown[] {
  const o = doc as { type?: unknown; catalog?: unknown; streams?: unknown } | null;
  if (o && typeof o === 'object' && o.type === 'CATALOG' && o.catalog && typeof o.catalog === 'object') return catalogStreams(o.catalog);
  if (!o || typeof o !== 'object' || !Array.isArray(o.streams))
    throw new Error('expected {"streams": [...]} (a catalog or configured catalog) or a {"type": "CATALOG", "catalog": …} message');
  return o.streams;
}

/** One `streams` entry: a configured stream (it has a `stream` object) or a stream; a missing `json_schema` is a
 * schemaless stream (the whole record in `_airbyte_data`). Errors name the stream and the field. */
function catalogEntry(entry: unknown, i: number, where: string): CatalogEntry {
  const configured = !!entry && typeof entry === 'object' && typeof (entry as { stream?: unknown }).stream === 'object';
  const name = (configured ? (entry as { stream: { name?: unknown } }).stream?.name : (entry as { name?: unknown } | null)?.name) ?? null;
  const r = (configured ? configuredStream : airbyteStream).safeParse(entry);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const field = issue.path.join('.') || '(entry)';
    throw new AbflowError(
      'config',
      `catalog ${where}: stream ${typeof name === 'string' ? `\`${name}\`` : `#${i + 1}`} (streams.${i}): ${field}: ${issue.message}`,
      {
        path: ['catalog'],
        hint: configured
          ? 'a configured stream is {"stream": {"name": …, "json_schema": {…}}, "sync_mode": "full_refresh|incremental", "destination_sync_mode": "append|overwrite|append_dedup", …}'
          : 'a stream is {"name": …, "json_schema": {"type": "object", "properties": {…}}}',
      },
    );
  }
  if (!configured) return { stream: r.data as AirbyteStream, configured: null };
  const { stream, ...rest } = r.data as ConfiguredStream;
  return { stream, configured: rest };
}

function catalogEntries(text: string, where: string): CatalogEntry[] {
  let streams: unknown[];
  try {
    streams = catalogStreams(JSON.parse(text));
  } catch (e) {
    throw new AbflowError('config', `catalog ${where} is not an Airbyte catalog: ${(e as Error).message}`, { path: ['catalog'] });
  }
  return streams.map((entry, i) => catalogEntry(entry, i, where));
}

export function parseCatalog(text: string, where: string): CatalogStream[] {
  const entries = catalogEntries(text, where);
  const names = new Map<string, number>();
  for (const { stream: s } of entries) names.set(s.name, (names.get(s.name) ?? 0) + 1);
  const seenKeys = new Set<string>();
  const seenPorts = new Set<string>();
  return entries.map(({ stream: s, configured }) => {
    const namespace = s.namespace ?? null;
    const key = streamKey(s.name, namespace);
    if (seenKeys.has(key)) throw new AbflowError('config', `catalog ${where} lists stream \`${s.name}\` twice`, { path: ['catalog'] });
    seenKeys.add(key);
    // Ports are stream names; the namespace is added only where two namespaces share a name.
    const port = portName(names.get(s.name)! > 1 && namespace ? `${namespace}_${s.name}` : s.name);
    if (seenPorts.has(port)) throw new AbflowError('config', `streams of catalog ${where} map to the same output name \`${port}\``, { path: ['catalog'] });
    seenPorts.add(port);
    const props = Object.entries((s.json_schema as JsonSchema).properties ?? {});
    const columns = columnNames(
      props.map(([key]) => key),
      [...Object.keys(META_COLUMNS), RECORD_TEXT],
    );
    const data: DataColumn[] = props.length ? props.map(([key, p], i) => [columns[i]!, columnTypeForJsonSchema(p), key]) : [[DATA_COLUMN, 'json', DATA_COLUMN]];
    return {
      name: s.name,
      namespace,
      port,
      data,
      wholeRecord: !props.length,
      columns: { ...Object.fromEntries(data.map(([c, t]) => [c, t])), ...META_COLUMNS },
      configured,
    };
  });
}

/**
 * The configured catalog to hand a source connector: a configured catalog as it is; a catalog (or CATALOG message)
 * configured stream by stream as the Airbyte UI's defaults do: incremental with the source's cursor (append + dedup on
 * its primary key, or append) where the stream supports incremental reads and names a cursor, else full refresh +
 * overwrite.
 */
export function configuredCatalogText(text: string, where: string): string {
  const entries = catalogEntries(text, where);
  if (entries.every((e) => e.configured)) return text;
  return JSON.stringify({
    streams: entries.map(({ stream, configured }) => {
      if (configured) return { stream, ...configured };
      const cursor = stream.default_cursor_field ?? [];
      const incremental = !!stream.supported_sync_modes?.includes('incremental') && (stream.source_defined_cursor === true || cursor.length > 0);
      const pk = stream.source_defined_primary_key ?? [];
      return incremental
        ? {
            stream,
            sync_mode: 'incremental',
            cursor_field: cursor,
            destination_sync_mode: pk.length ? 'append_dedup' : 'append',
            ...(pk.length ? { primary_key: pk } : {}),
          }
        : { stream, sync_mode: 'full_refresh', destination_sync_mode: 'overwrite', ...(pk.length ? { primary_key: pk } : {}) };
    }),
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

/** The `airbyte_decode` stage for these streams, and the schemas the plan sees. With `recordText`, each stream
 * also carries its RECORD lines' text (`_abflow_record`), so an `airbyte_destination` passes on unchanged fields
 * byte for byte. */
export function decoderFor(streams: readonly CatalogStream[], maxLineBytes: number, recordText: boolean): Decoder {
  return {
    kind: 'airbyte_decode',
    config: {
      maxLineBytes,
      recordText,
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

export function schemasOf(streams: readonly CatalogStream[], recordText: boolean): Record<string, Schema> {
  return Object.fromEntries(streams.map((s) => [s.port, streamSchema(s.data, s.wholeRecord, recordText)]));
}
