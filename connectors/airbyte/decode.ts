/**
 * `airbyte_decode`: parses Airbyte protocol lines (one AirbyteMessage per line) and turns RECORD messages into typed
 * rows on one output per stream. Records of streams not in the catalog are ignored (the protocol's rule) and counted
 * as filtered; other message types are counted and passed over. Lines that are not AirbyteMessages, and records whose
 * values do not fit the catalog types, become dead letters with their line number.
 */
import { isUtf8 } from 'node:buffer';
import { ColumnBuilder, columnData, columnTypeSchema, defineOperator, makeBatch, schemaOf, z } from '../../engine/api.js';
import { appendConverted, convertJson, Misfit } from '../jsonl/json-values.js';
import { EMITTED_AT } from './catalog.js';

const config = z
  .object({
    streams: z
      .array(z.object({ name: z.string(), port: z.string(), columns: z.record(z.string(), columnTypeSchema) }).strict())
      .describe('Catalog streams: stream name, output port, columns.'),
  })
  .strict();

export const airbyteDecode = defineOperator({
  kind: 'airbyte_decode',
  summary: 'Parses Airbyte messages; RECORDs become typed rows, one output per stream.',
  config,
  execution: 'parallel',
  deadLetters: true,
  examples: [{ title: 'Inserted automatically after an airbyte_file source', yaml: `kind: airbyte_decode\nconfig:\n  streams:\n    - { name: users, port: users, columns: { id: int64, _airbyte_emitted_at: timestamp } }` }],
  ports: (cfg) => cfg.streams.map((s) => s.port),
  outputSchemas: (cfg) => Object.fromEntries(cfg.streams.map((s) => [s.port, schemaOf(s.columns)])),
  create(cfg, ctx) {
    const byName = new Map(cfg.streams.map((s) => [s.name, { ...s, fields: Object.entries(s.columns), schema: ctx.outputs[s.port]! }]));
    return {
      processBatch(batch, out) {
        const lines = columnData(batch, 0);
        const offsets = lines.valueOffsets as Int32Array;
        const bytes = lines.values as Uint8Array;
        const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        const n = batch.numRows;
        const perStream = new Map<string, { builders: ColumnBuilder[]; rows: number[] }>();
        const bad: number[] = [];
        const reasons: string[] = [];
        const raw: string[] = [];
        for (let i = 0; i < n; i++) {
          let end = offsets[i + 1]!;
          const start = offsets[i]!;
          if (end > start && bytes[end - 1] === 13) end--;
          const text = isUtf8(bytes.subarray(start, end)) ? buf.toString('utf8', start, end) : null;
          if (text === null) {
            bad.push(i), reasons.push('invalid UTF-8'), raw.push(buf.toString('latin1', start, end));
            continue;
          }
          if (!text.trim()) continue;
          let msg: { type?: unknown; record?: { stream?: unknown; data?: unknown; emitted_at?: unknown } };
          try {
            msg = JSON.parse(text) as typeof msg;
          } catch (e) {
            bad.push(i), reasons.push(`invalid JSON: ${(e as Error).message}`), raw.push(text);
            continue;
          }
          if (typeof msg !== 'object' || msg === null || typeof msg.type !== 'string') {
            bad.push(i), reasons.push('not an AirbyteMessage (no "type")'), raw.push(text);
            continue;
          }
          if (msg.type !== 'RECORD') continue;
          const rec = msg.record;
          if (!rec || typeof rec.stream !== 'string' || typeof rec.data !== 'object' || rec.data === null) {
            bad.push(i), reasons.push('RECORD without stream or data'), raw.push(text);
            continue;
          }
          const stream = byName.get(rec.stream);
          if (!stream) continue;
          const values: unknown[] = [];
          let failed: string | null = null;
          for (const [name, type] of stream.fields) {
            const v = name === EMITTED_AT ? rec.emitted_at : (rec.data as Record<string, unknown>)[name];
            const r = convertJson(typeof v === 'object' && v !== null && type === 'string' ? JSON.stringify(v) : v, type);
            if (r instanceof Misfit) {
              failed = `stream ${rec.stream}, field \`${name}\`: ${r.reason}`;
              break;
            }
            values.push(r);
          }
          if (failed) {
            bad.push(i), reasons.push(failed), raw.push(text);
            continue;
          }
          let acc = perStream.get(stream.name);
          if (!acc) perStream.set(stream.name, (acc = { builders: stream.fields.map(([, t]) => new ColumnBuilder(t, 256)), rows: [] }));
          values.forEach((v, c) => appendConverted(acc!.builders[c]!, v));
          acc.rows.push(i);
        }
        out.deadLetter(bad, reasons, raw);
        for (const [name, acc] of perStream) {
          const s = byName.get(name)!;
          out.emit(makeBatch(s.schema, acc.builders.map((b) => b.finish()), acc.rows.length), s.port, Int32Array.from(acc.rows));
        }
      },
    };
  },
});
