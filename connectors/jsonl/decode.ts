/**
 * `json_decode`: parses raw JSON lines into typed columns. The compiler places it right after a line-based source
 * and fuses it into the downstream chain, so parsing runs in parallel in the worker pool. Blank lines are skipped
 * (counted as filtered); every other line becomes a row or a dead letter with its line number and the reason:
 * invalid UTF-8, invalid JSON, not an object, a value that does not fit its declared type, or an oversized line.
 */
import { isAscii, isUtf8 } from 'node:buffer';
import { canonicalUtc, ColumnBuilder, columnData, columnTypeSchema, defineOperator, makeBatch, schemaOf, z } from '../../engine/api.js';
import { FlatJsonScanner, Slot } from './flat-scanner.js';
import { appendConverted, convertJson, Misfit } from './json-values.js';

const config = z
  .object({
    schema: z.record(z.string(), columnTypeSchema).describe('Columns to extract: name → type. Other keys are ignored.'),
    maxLineBytes: z.number().int().positive().describe('Lines longer than this are dead-lettered.'),
  })
  .strict();

export const jsonDecode = defineOperator({
  kind: 'json_decode',
  summary: 'Parses JSON lines into typed columns; bad lines become dead letters with their line number.',
  config,
  execution: 'parallel',
  deadLetters: true,
  examples: [{ title: 'Inserted automatically after a jsonl source', yaml: `kind: json_decode\nconfig:\n  schema: { id: int64, name: string }\n  maxLineBytes: 1048576` }],
  display: (cfg) => ({ columns: Object.keys(cfg.schema).join(', ') }),
  outputSchemas: (cfg) => ({ out: schemaOf(cfg.schema) }),
  create(cfg, ctx) {
    const fields = Object.entries(cfg.schema);
    const schema = ctx.outputs.out!;
    const scanner = new FlatJsonScanner(fields);
    return {
      processBatch(batch, out) {
        const lines = columnData(batch, 0);
        const lengths = columnData(batch, 1).values as BigInt64Array;
        const offsets = lines.valueOffsets as Int32Array;
        const bytes = lines.values as Uint8Array;
        const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        // Check the encoding once per batch: all-ASCII text (the common case) is decoded once and sliced per line
        // (byte offsets are character offsets), valid UTF-8 is decoded per line, and only a batch holding invalid
        // bytes is checked line by line.
        const whole = bytes.subarray(offsets[0]!, offsets[batch.numRows]!);
        const ascii = isAscii(whole);
        let asciiCache: string | null = null;
        const textOf = (s: number, e: number) =>
          ascii ? (asciiCache ??= buf.toString('latin1', offsets[0]!, offsets[batch.numRows]!)).slice(s - base, e - base) : buf.toString('utf8', s, e);
        const allUtf8 = ascii || isUtf8(whole);
        const base = offsets[0]!;
        const n = batch.numRows;
        const builders = fields.map(([, t]) => new ColumnBuilder(t, n));
        const rows = new Int32Array(n);
        let count = 0;
        const bad: number[] = [];
        const reasons: string[] = [];
        const raw: string[] = [];
        const values = new Array<unknown>(fields.length);
        const reject = (i: number, reason: string, text: string) => {
          bad.push(i);
          reasons.push(reason);
          raw.push(text);
        };
        for (let i = 0; i < n; i++) {
          const start = offsets[i]!;
          let end = offsets[i + 1]!;
          if (end > start && bytes[end - 1] === 13) end--; // CRLF
          const length = Number(lengths[i]);
          const slice = bytes.subarray(start, end);
          if (length > cfg.maxLineBytes) {
            reject(i, `line of ${length} bytes exceeds maxLineBytes (${cfg.maxLineBytes})`, buf.toString('utf8', start, end) + '…');
            continue;
          }
          if (!allUtf8 && !isUtf8(slice)) {
            reject(i, 'invalid UTF-8', buf.toString('latin1', start, end));
            continue;
          }
          if (allUtf8 && scanner.scan(bytes, start, end)) {
            // Fast path: fields read straight from the bytes; same conversions and messages as below.
            let failed: string | null = null;
            for (let c = 0; c < fields.length && !failed; c++) {
              const [name, type] = fields[c]!;
              const kind = scanner.kind[c]!;
              let v: unknown = null;
              if (kind === Slot.Number) v = convertJson(scanner.num[c], type);
              else if (kind === Slot.Bool) v = scanner.end[c] === 1;
              else if (kind === Slot.Bytes && type !== 'string') {
                const s = scanner.num[c]!;
                const e = scanner.end[c]!;
                const fast = type === 'timestamp' ? canonicalUtc((k) => bytes[s + k]!, e - s) : NaN;
                v = Number.isNaN(fast) ? convertJson(textOf(s, e), type) : fast;
              }
              if (v instanceof Misfit) failed = `field \`${name}\`: ${v.reason}`;
              values[c] = v;
            }
            if (failed) {
              reject(i, failed, textOf(start, end));
              continue;
            }
            for (let c = 0; c < fields.length; c++) {
              if (scanner.kind[c] === Slot.Bytes && fields[c]![1] === 'string') builders[c]!.appendUtf8(bytes, scanner.num[c]!, scanner.end[c]!);
              else appendConverted(builders[c]!, values[c]);
            }
            rows[count++] = i;
            continue;
          }
          const text = textOf(start, end);
          if (text.trim() === '') continue; // blank line: no record
          let obj: unknown;
          try {
            obj = JSON.parse(text);
          } catch (e) {
            reject(i, `invalid JSON: ${(e as Error).message}`, text);
            continue;
          }
          if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
            reject(i, 'line is not a JSON object', text);
            continue;
          }
          let failed: string | null = null;
          for (let c = 0; c < fields.length; c++) {
            const [name, type] = fields[c]!;
            const r = convertJson((obj as Record<string, unknown>)[name], type);
            if (r instanceof Misfit) {
              failed = `field \`${name}\`: ${r.reason}`;
              break;
            }
            values[c] = r;
          }
          if (failed) {
            reject(i, failed, text);
            continue;
          }
          for (let c = 0; c < fields.length; c++) appendConverted(builders[c]!, values[c]);
          rows[count++] = i;
        }
        out.deadLetter(bad, reasons, raw);
        if (count) out.emit(makeBatch(schema, builders.map((b) => b.finish()), count), 'out', rows.subarray(0, count));
      },
    };
  },
});
