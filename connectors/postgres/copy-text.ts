/**
 * Arrow batches as PostgreSQL `COPY ... FROM STDIN` text format (tab-separated, `\N` for NULL, backslash escapes).
 * Hand-written because it is the bulk path: one string per batch, no per-row objects. Two trailing BIGINT columns
 * take the staging table's checkpoint epoch and arrival sequence.
 */
import { type ColumnType, columnData, fieldsOf, isoOfMicros, isValid, microsToMs, type RecordBatch } from '../../engine/api.js';

/** PostgreSQL text cannot hold U+0000; such characters become U+FFFD and are counted so the sink can report them. */
export interface EncodeStats {
  replacedNul: number;
}

const ESCAPES = /[\\\t\n\r\0]/g;

function escapeText(s: string, stats: EncodeStats): string {
  // Most values need no escaping; testing first is much cheaper than a replace with a callback.
  ESCAPES.lastIndex = 0;
  if (!ESCAPES.test(s)) return s;
  ESCAPES.lastIndex = 0;
  return s.replace(ESCAPES, (c) => {
    switch (c) {
      case '\\':
        return '\\\\';
      case '\t':
        return '\\t';
      case '\n':
        return '\\n';
      case '\r':
        return '\\r';
      default:
        stats.replacedNul++;
        return '\uFFFD';
    }
  });
}

/** ISO 8601 as PostgreSQL reads it, including years outside 1–9999 (which `toISOString` writes as ±YYYYYY). */
const YEAR_1 = -62_135_596_800_000;
const YEAR_10000 = 253_402_300_800_000;

/** PostgreSQL's text of a timestamp given in epoch ms, with `micros` (0-999) more: ISO for years 1-9999, the
 * year written out (and BC) beyond. */
export function pgTimestamp(ms: number, micros = 0): string {
  const iso = isoOfMicros(BigInt(ms) * 1000n + BigInt(micros));
  if (ms >= YEAR_1 && ms < YEAR_10000) return iso;
  const y = new Date(ms).getUTCFullYear();
  if (y >= 1 && y <= 9999) return iso;
  const rest = iso.slice(iso.indexOf('-', 1));
  return y <= 0 ? `${String(1 - y).padStart(4, '0')}${rest} BC` : `${y}${rest}`;
}

export function pgDate(days: number): string {
  const t = pgTimestamp(days * 86_400_000);
  return t.endsWith(' BC') ? `${t.slice(0, t.indexOf('T'))} BC` : t.slice(0, t.indexOf('T'));
}

type Cell = (i: number) => string;

function cellWriter(batch: RecordBatch, c: number, type: ColumnType, stats: EncodeStats): Cell {
  const data = columnData(batch, c);
  const off = data.offset;
  const values = data.values as ArrayLike<number | bigint>;
  const valid = (i: number) => isValid(data, i);
  switch (type) {
    case 'string':
    case 'json': {
      const o = data.valueOffsets as Int32Array;
      const b = data.values as Uint8Array;
      const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
      return (i) => (valid(i) ? escapeText(buf.toString('utf8', o[i]!, o[i + 1]!), stats) : '\\N');
    }
    case 'bool':
      return (i) => (valid(i) ? ((((values as Uint8Array)[(off + i) >> 3]! >> ((off + i) & 7)) & 1) === 1 ? 't' : 'f') : '\\N');
    case 'timestamp':
      return (i) => {
        if (!valid(i)) return '\\N';
        const us = values[i] as bigint;
        const ms = microsToMs(us);
        return pgTimestamp(ms, Number(us - BigInt(ms) * 1000n));
      };
    case 'date':
      return (i) => (valid(i) ? pgDate(values[i] as number) : '\\N');
    default:
      return (i) => (valid(i) ? String(values[i]) : '\\N');
  }
}

export function encodeCopyText(batch: RecordBatch, epoch: number, firstSeq: number, stats: EncodeStats): string {
  const cells = fieldsOf(batch.schema).map((f, c) => cellWriter(batch, c, f.type, stats));
  const lines = new Array<string>(batch.numRows);
  for (let i = 0; i < batch.numRows; i++) {
    let line = '';
    for (let c = 0; c < cells.length; c++) line += cells[c]!(i) + '\t';
    lines[i] = line + epoch + '\t' + (firstSeq + i);
  }
  return lines.join('\n') + '\n';
}
