/**
 * `json_decode`: parses raw JSON lines into typed columns. The compiler places it right after a line-based source
 * and fuses it into the downstream chain, so parsing runs in parallel in the worker pool. Blank lines are skipped
 * (counted as filtered); every other line becomes a row or a dead letter with its line number and the reason:
 * invalid UTF-8, invalid JSON, not an object, a value that does not fit its declared type, an oversized line, or a
 * message without a value (a Kafka tombstone). Columns a source sends beside the text (`carry`: a message's topic,
 * partition, offset, key …) are copied to the row; `locate` names the column that says where a message came from,
 * for the reasons of its dead letters.
 */
import { isAscii, isUtf8 } from 'node:buffer';
import {
  ColumnBuilder,
  columnData,
  columnTypeSchema,
  defineOperator,
  makeBatch,
  numbersOf,
  requireColumn,
  Schema,
  schemaOf,
  stringsOf,
  takeBatch,
  z,
} from '../../engine/api.js';
import { FlatJsonScanner, Slot, utcTimestampAt } from './flat-scanner.js';
import { appendConverted, convertJson, Misfit } from './json-values.js';
import { NO_VALUE } from './lines.js';

/** Column type codes for the fast path. */
const STRING = 0;
const FLOAT = 1;
const TIMESTAMP = 2;
const JSON_TEXT = 3;
const OTHER = 4;

const config = z
  .object({
    schema: z.record(z.string(), columnTypeSchema).describe('Columns to extract: name → type. Other keys are ignored.'),
    maxLineBytes: z.number().int().positive().describe('Lines longer than this are dead-lettered.'),
    carry: z.array(z.string().min(1)).default([]).describe("Input columns besides the text copied to each row (a message's metadata)."),
    locate: z
      .string()
      .min(1)
      .optional()
      .describe("An input column naming each message's place (e.g. topic[partition]@offset), put in front of a dead letter's reason."),
  })
  .strict();

export const jsonDecode = defineOperator({
  kind: 'json_decode',
  summary: 'Parses JSON lines into typed columns; bad lines become dead letters with their line number.',
  config,
  execution: 'parallel',
  deadLetters: true,
  examples: [
    {
      title: 'Inserted automatically after a jsonl source',
      yaml: `kind: json_decode\nconfig:\n  schema: { id: int64, name: string }\n  maxLineBytes: 1048576`,
    },
  ],
  display: (cfg) => ({ columns: Object.keys(cfg.schema).join(', ') }),
  outputSchemas: (cfg, [input]) => ({
    out: new Schema([...schemaOf(cfg.schema).fields, ...cfg.carry.map((c, i) => input!.fields[requireColumn(input!, c, ['carry', i])]!)]),
  }),
  create(cfg, ctx) {
    const fields = Object.entries(cfg.schema);
    const schema = ctx.outputs.out!;
    const carried = cfg.carry.map((c) => requireColumn(ctx.inputs[0]!, c, []));
    const locateIdx = cfg.locate === undefined ? -1 : requireColumn(ctx.inputs[0]!, cfg.locate, []);
    const scanner = new FlatJsonScanner(fields);
    const codes = Uint8Array.from(fields, ([, t]) =>
      t === 'string' ? STRING : t === 'float64' ? FLOAT : t === 'timestamp' ? TIMESTAMP : t === 'json' ? JSON_TEXT : OTHER,
    );
    // Per-row scratch: converted numbers (NaN when unset) and values of rarer conversions (dates, JSON text).
    const numbers = new Float64Array(fields.length).fill(NaN);
    const generic = new Array<unknown>(fields.length);
    let bytes: Uint8Array = new Uint8Array(0);
    return {
      processBatch(batch, out) {
        const lines = columnData(batch, 0);
        const lineLengths = numbersOf(columnData(batch, 1));
        const offsets = lines.valueOffsets as Int32Array;
        bytes = lines.values as Uint8Array;
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
        const places = locateIdx < 0 ? null : stringsOf(columnData(batch, locateIdx));
        const reject = (i: number, reason: string, text: string) => {
          bad.push(i);
          reasons.push(places ? `${places[i]}: ${reason}` : reason);
          raw.push(text);
        };
        for (let i = 0; i < n; i++) {
          const start = offsets[i]!;
          let end = offsets[i + 1]!;
          if (end > start && bytes[end - 1] === 13) end--; // CRLF
          const length = lineLengths[i]!;
          if (length === NO_VALUE) {
            reject(i, 'message has no value (a tombstone)', '');
            continue;
          }
          if (length > cfg.maxLineBytes) {
            reject(i, `line of ${length} bytes exceeds maxLineBytes (${cfg.maxLineBytes})`, buf.toString('utf8', start, end) + '…');
            continue;
          }
          if (!allUtf8 && !isUtf8(bytes.subarray(start, end))) {
            reject(i, 'invalid UTF-8', buf.toString('latin1', start, end));
            continue;
          }
          if (allUtf8 && scanner.scan(bytes, start, end)) {
            // Fast path: fields read straight from the bytes, with the same conversions and messages as the
            // JSON.parse path below. Numbers are checked into a Float64Array first and appended only once the whole
            // row fits, so a bad field leaves no partial row and no value is boxed.
            let failed: string | null = null;
            for (let c = 0; c < fields.length && !failed; c++) {
              const kind = scanner.kind[c]!;
              const code = codes[c]!;
              if (kind === Slot.Number) {
                if (code === FLOAT && Number.isFinite(scanner.num[c])) continue;
                const v = convertJson(scanner.num[c], fields[c]![1]);
                if (v instanceof Misfit) failed = `field \`${fields[c]![0]}\`: ${v.reason}`;
                else if (typeof v === 'number') numbers[c] = v;
                else generic[c] = v; // json text of a number
              } else if (kind === Slot.Bytes && code !== STRING) {
                const s = scanner.num[c]!;
                const e = scanner.end[c]!;
                numbers[c] = code === TIMESTAMP ? utcTimestampAt(bytes, s, e) : NaN;
                if (Number.isNaN(numbers[c]!)) {
                  const v = convertJson(textOf(s, e), fields[c]![1]);
                  if (v instanceof Misfit) failed = `field \`${fields[c]![0]}\`: ${v.reason}`;
                  else generic[c] = v;
                }
              }
            }
            if (failed) {
              reject(i, failed, textOf(start, end));
              continue;
            }
            for (let c = 0; c < fields.length; c++) {
              const kind = scanner.kind[c]!;
              const b = builders[c]!;
              if (kind === Slot.Missing || kind === Slot.Null) b.appendNull();
              else if (kind === Slot.Bool) b.appendBool(scanner.end[c] === 1);
              else if (kind === Slot.Number) {
                if (codes[c] === FLOAT) b.appendNumber(scanner.num[c]!);
                else if (codes[c] === JSON_TEXT || codes[c] === STRING) appendConverted(b, generic[c]);
                else b.appendNumber(numbers[c]!);
              } else if (codes[c] === STRING) b.appendUtf8(bytes, scanner.num[c]!, scanner.end[c]!);
              else if (codes[c] === TIMESTAMP && !Number.isNaN(numbers[c]!)) b.appendNumber(numbers[c]!);
              else appendConverted(b, generic[c]);
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
        if (!count) return;
        const kept = rows.subarray(0, count);
        const extra = carried.length ? takeBatch(batch, kept) : null;
        out.emit(makeBatch(schema, [...builders.map((b) => b.finish()), ...carried.map((c) => extra!.data.children[c]!)], count), 'out', kept);
      },
    };
  },
});
