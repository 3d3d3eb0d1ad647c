/**
 * `airbyte_decode`: turns Airbyte RECORD lines into typed rows, one output per catalog stream, with Airbyte's meta
 * columns. The compiler puts it after Airbyte sources, so decoding runs in the worker pool; the source itself has
 * already taken STATE, TRACE and LOG messages out of the line stream.
 *
 * Typing follows Airbyte destinations (direct-load tables): a value that does not fit its column is nulled and the
 * change recorded in `_airbyte_meta.changes` (`NULLED`, `DESTINATION_SERIALIZATION_ERROR`) — the record is kept.
 * Numeric strings fill number columns (WellKnownTypes catalogs send numbers as strings); any JSON value fills a
 * string column (non-strings as their JSON text); JSON columns and big numbers are copied from the line's text, so
 * nothing is re-encoded or rounded. Lines that are not valid AirbyteMessages, and records of streams the catalog
 * does not list, become dead letters with their line number.
 */
import { randomFillSync } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { ColumnBuilder, columnData, columnTypeSchema, defineOperator, fieldsOf, makeBatch, parseTimestampMicros, z } from '../../engine/api.js';
import { Slot, utcTimestampAt } from '../jsonl/flat-scanner.js';
import { appendConverted, convertJson, Misfit } from '../jsonl/json-values.js';
import { renameChanges, streamSchema } from './catalog.js';
import { InvalidMessage, type MetaChange, parseMessage, streamKey } from './protocol.js';
import { members } from './raw-json.js';
import { RecordScanner } from './record-scanner.js';

const streamConfig = z
  .object({
    name: z.string(),
    namespace: z.string().nullable(),
    port: z.string(),
    data: z.array(z.tuple([z.string(), columnTypeSchema, z.string()])).describe('Data columns: [column, type, the record key it holds].'),
    wholeRecord: z.boolean(),
    generationId: z.number().int().nullable(),
    syncId: z.number().int().nullable(),
  })
  .strict();

const config = z
  .object({
    streams: z.array(streamConfig).describe('Catalog streams and their columns.'),
    maxLineBytes: z.number().int().positive().describe('Longer messages are dead-lettered.'),
    recordText: z.boolean().default(false).describe('Keep each RECORD line in `_abflow_record` (for airbyte_destination).'),
  })
  .strict();

type StreamConfig = z.output<typeof streamConfig>;

const TYPECAST = 'DESTINATION_SERIALIZATION_ERROR';
const HEX = Buffer.from('0123456789abcdef');

/** Version-4 UUIDs (`_airbyte_raw_id`) written into the column as text bytes: `randomUUID()` built a string per
 * record that the column then encoded again. Random bytes come from a pool, as in `randomUUID`. */
class RawIds {
  private readonly pool = new Uint8Array(16 * 1024);
  private at = this.pool.length;
  private readonly text = new Uint8Array(36);

  append(to: ColumnBuilder): void {
    if (this.at === this.pool.length) {
      randomFillSync(this.pool);
      this.at = 0;
    }
    let o = 0;
    for (let i = 0; i < 16; i++) {
      let v = this.pool[this.at + i]!;
      if (i === 6)
        v = (v & 0x0f) | 0x40; // version 4
      else if (i === 8) v = (v & 0x3f) | 0x80; // RFC 4122 variant
      if (i === 4 || i === 6 || i === 8 || i === 10) this.text[o++] = 45; // '-'
      this.text[o++] = HEX[v >> 4]!;
      this.text[o++] = HEX[v & 15]!;
    }
    this.at += 16;
    to.appendUtf8(this.text, 0, 36);
  }
}

/** Column types the byte scanner converts itself; a stream with others (json, date) always takes JSON.parse. */
const SCANNED_TYPES: ReadonlySet<string> = new Set(['string', 'int32', 'int64', 'float64', 'bool', 'timestamp']);
const INT64_MAX = 2n ** 63n - 1n;

/** Lenient conversion for Airbyte data (see the module comment); `raw` gives the value's original text. */
export function convertValue(v: unknown, type: z.output<typeof columnTypeSchema>, raw: () => string): unknown {
  if (v === null || v === undefined) return null;
  switch (type) {
    case 'json':
      return raw();
    case 'string':
      return typeof v === 'string' ? v : raw();
    case 'int32':
    case 'int64':
      if (typeof v === 'number' && Number.isInteger(v) && !Number.isSafeInteger(v) && type === 'int64') {
        const exact = BigInt(raw());
        return exact <= INT64_MAX && exact >= -INT64_MAX - 1n ? exact : new Misfit(`integer ${raw()} does not fit int64`);
      }
      return convertJson(typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v, type);
    case 'float64':
      return convertJson(typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v, type);
    case 'timestamp': {
      // Epoch numbers are not timestamps in Airbyte's type system: only ISO 8601 text is (kept to the µs).
      const us = typeof v === 'string' ? parseTimestampMicros(v) : null;
      return us ?? new Misfit('not an ISO 8601 timestamp');
    }
    default:
      return convertJson(v, type);
  }
}

export const airbyteDecode = defineOperator({
  kind: 'airbyte_decode',
  summary: 'Parses Airbyte RECORD messages into typed rows with Airbyte meta columns, one output per stream.',
  config,
  execution: 'parallel',
  deadLetters: true,
  examples: [
    {
      title: 'Inserted automatically after an Airbyte source',
      yaml: `kind: airbyte_decode\nconfig:\n  maxLineBytes: 16777216\n  streams:\n    - { name: users, namespace: null, port: users, data: [[id, int64, id], [name, string, name]], wholeRecord: false, generationId: null, syncId: null }`,
    },
  ],
  ports: (cfg) => cfg.streams.map((s) => s.port),
  outputSchemas: (cfg) => Object.fromEntries(cfg.streams.map((s) => [s.port, streamSchema(s.data, s.wholeRecord, cfg.recordText)])),
  create(cfg, ctx) {
    const byKey = new Map<string, StreamConfig>(cfg.streams.map((s) => [streamKey(s.name, s.namespace), s]));
    // Renamed keys are recorded on every record of their stream, so this meta text is fixed per stream.
    const renames = new Map(cfg.streams.map((s) => [s, renameChanges(s.data)]));
    const unchanged = new Map(cfg.streams.map((s) => [s, Buffer.from(JSON.stringify({ sync_id: s.syncId, changes: renames.get(s) }))]));
    const rawIds = new RawIds();
    const scanner = new RecordScanner(
      cfg.streams
        .filter((s) => !s.wholeRecord && s.data.every(([, t]) => SCANNED_TYPES.has(t)))
        .map((s) => ({ name: s.name, namespace: s.namespace, fields: s.data.map(([, type, key]) => [key, type] as const), stream: s })),
    );
    // Per-row scratch of the fast path: converted timestamps, so a row is appended only once all of it converts.
    const times = new Float64Array(Math.max(0, ...cfg.streams.map((s) => s.data.length)));
    let bytes: Uint8Array = new Uint8Array(0);

    /** Appends the scanned record's data columns when every value converts exactly as `convertValue` would
     * without a change to record; false leaves the row to the JSON.parse path. */
    const appendScanned = (stream: StreamConfig, builders: ColumnBuilder[]): boolean => {
      const d = scanner.data!;
      for (let c = 0; c < stream.data.length; c++) {
        const kind = d.kind[c];
        const type = stream.data[c]![1];
        if (kind === Slot.Number && (type === 'int64' || type === 'int32')) {
          const v = d.num[c]!;
          if (!Number.isSafeInteger(v) || (type === 'int32' && (v > 2147483647 || v < -2147483648))) return false;
        } else if (kind === Slot.Number && !Number.isFinite(d.num[c]))
          return false; // 1e400: nulled with a change
        else if (kind === Slot.Number && type === 'timestamp')
          return false; // epoch numbers are not Airbyte timestamps
        else if (kind === Slot.Bytes && type === 'timestamp') {
          times[c] = utcTimestampAt(bytes, d.num[c]!, d.end[c]!);
          if (Number.isNaN(times[c])) return false;
        }
      }
      for (let c = 0; c < stream.data.length; c++) {
        const b = builders[c]!;
        const kind = d.kind[c];
        if (kind === Slot.Missing || kind === Slot.Null) b.appendNull();
        else if (kind === Slot.Bool) b.appendBool(d.end[c] === 1);
        else if (kind === Slot.Number) b.appendNumber(d.num[c]!);
        else if (stream.data[c]![1] === 'timestamp') b.appendNumber(times[c]!);
        else b.appendUtf8(bytes, d.num[c]!, d.end[c]!);
      }
      return true;
    };
    return {
      processBatch(batch, out) {
        const lines = columnData(batch, 0);
        const lengths = columnData(batch, 1).values as BigInt64Array;
        const offsets = lines.valueOffsets as Int32Array;
        bytes = lines.values as Uint8Array;
        const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        const perStream = new Map<StreamConfig, { builders: ColumnBuilder[]; rows: number[] }>();
        const accumulator = (stream: StreamConfig) => {
          let acc = perStream.get(stream);
          if (!acc) perStream.set(stream, (acc = { builders: fieldsOf(ctx.outputs[stream.port]!).map((f) => new ColumnBuilder(f.type, 64)), rows: [] }));
          return acc;
        };
        const appendMeta = (stream: StreamConfig, b: ColumnBuilder[], emittedAt: number, changes: readonly object[] | null, start: number, end: number) => {
          const m = stream.data.length;
          if (cfg.recordText) b[m + 4]!.appendUtf8(bytes, start, end);
          rawIds.append(b[m]!);
          b[m + 1]!.appendNumber(Math.trunc(emittedAt));
          if (changes?.length) b[m + 2]!.appendString(JSON.stringify({ sync_id: stream.syncId, changes }));
          else {
            const meta = unchanged.get(stream)!;
            b[m + 2]!.appendUtf8(meta, 0, meta.length);
          }
          if (stream.generationId === null) b[m + 3]!.appendNull();
          else b[m + 3]!.appendNumber(stream.generationId);
        };
        const bad: number[] = [];
        const reasons: string[] = [];
        const raw: string[] = [];
        const reject = (i: number, reason: string, text: string) => {
          bad.push(i);
          reasons.push(reason);
          raw.push(text);
        };
        // The encoding is checked once per batch; only a batch holding invalid bytes is checked line by line.
        const allUtf8 = isUtf8(bytes.subarray(offsets[0]!, offsets[batch.numRows]!));
        for (let i = 0; i < batch.numRows; i++) {
          const start = offsets[i]!;
          let end = offsets[i + 1]!;
          if (end > start && bytes[end - 1] === 13) end--;
          if (Number(lengths[i]) > cfg.maxLineBytes) {
            reject(i, `message of ${lengths[i]} bytes exceeds maxLineBytes (${cfg.maxLineBytes})`, buf.toString('utf8', start, end) + '…');
            continue;
          }
          if (!allUtf8 && !isUtf8(bytes.subarray(start, end))) {
            reject(i, 'invalid UTF-8', buf.toString('latin1', start, end));
            continue;
          }
          if (scanner.scan(bytes, start, end)) {
            const stream = scanner.stream!;
            const acc = accumulator(stream);
            if (appendScanned(stream, acc.builders)) {
              appendMeta(stream, acc.builders, scanner.emittedAt, null, start, end);
              acc.rows.push(i);
              continue;
            }
          }
          const text = buf.toString('utf8', start, end);
          if (!text.trim()) continue;
          const msg = parseMessage(text);
          if (msg instanceof InvalidMessage) {
            reject(i, msg.reason, text);
            continue;
          }
          if (msg.type !== 'RECORD') continue;
          const rec = msg.record;
          const stream = byKey.get(streamKey(rec.stream, rec.namespace)) ?? (rec.namespace === '' ? byKey.get(rec.stream) : undefined);
          if (!stream) {
            reject(i, `stream \`${rec.namespace ? `${rec.namespace}.` : ''}${rec.stream}\` is not in the catalog`, text);
            continue;
          }
          // Member spans of record.data in the line, found only when a value must be copied as text.
          let spans: Map<string, [number, number]> | null = null;
          const dataSpan = () => members(text, ...members(text, ...members(text).get('record')!).get('data')!);
          const rawOf = (field: string) => {
            spans ??= dataSpan();
            const [s, e] = spans.get(field)!;
            return text.slice(s, e);
          };
          const acc = accumulator(stream);
          const changes: (MetaChange | ReturnType<typeof renameChanges>[number])[] = [...(rec.meta?.changes ?? []), ...renames.get(stream)!];
          const data = rec.data;
          if (stream.wholeRecord) {
            const [s, e] = members(text, ...members(text).get('record')!).get('data')!;
            acc.builders[0]!.appendString(text.slice(s, e));
          } else
            stream.data.forEach(([, type, key], c) => {
              const v = convertValue(data[key], type, () => rawOf(key));
              if (v instanceof Misfit) {
                changes.push({ field: key, change: 'NULLED', reason: TYPECAST });
                acc.builders[c]!.appendNull();
              } else appendConverted(acc.builders[c]!, v);
            });
          appendMeta(stream, acc.builders, rec.emitted_at, changes, start, end);
          acc.rows.push(i);
        }
        out.deadLetter(bad, reasons, raw);
        for (const [s, acc] of perStream)
          out.emit(
            makeBatch(
              ctx.outputs[s.port]!,
              acc.builders.map((b) => b.finish()),
              acc.rows.length,
            ),
            s.port,
            Int32Array.from(acc.rows),
          );
      },
    };
  },
});
