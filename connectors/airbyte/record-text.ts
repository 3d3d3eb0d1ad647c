/**
 * Rows → Airbyte RECORD lines, for `airbyte_destination`. What a source sent arrives unchanged unless the plan
 * changed it: when a row still carries its original line (`_abflow_record`, kept by `airbyte_decode` for this sink),
 * the line is the starting point and only what the plan changed is rewritten —
 * - a data column whose value is what decoding the original member gives keeps the member's text byte for byte
 *   (numbers, timestamps, escapes, nulls, key order); a changed value is written anew in its place;
 * - a key the catalog declared whose column the plan removed is removed; a key the catalog did not declare, which
 *   has no column, stays;
 * - a column the record did not have is appended (unless null, as a missing key is not a null one);
 * - the record's stream, namespace, `emitted_at`, `meta` and unknown members stay as sent (the decoder's own
 *   `_airbyte_meta` entries describe the warehouse columns, not the message).
 * A record nothing changed is its original line. Rows without the original (computed by the plan, or after an
 * operator that dropped the column) are written from their columns, keys in column order, nulls left out.
 */
import { Type } from 'apache-arrow';
import { cellValue, columnData, type ColumnType, fieldType, isoOfMicros, isValid, microsToMs, type RecordBatch, type Schema } from '../../engine/api.js';
import { DECLARED, KEY, META, ROLE } from './catalog.js';
import { convertValue } from './decode.js';
import { Misfit } from '../jsonl/json-values.js';
import { type MemberSpan, memberSpans, members, setMember } from './raw-json.js';

type Data = ReturnType<typeof columnData>;

interface Column {
  readonly key: string;
  readonly type: ColumnType;
  readonly c: number;
}

const META_NAMES: ReadonlySet<string> = new Set(Object.values(META));

/** Serialises column `data` at row `i` as JSON text (JSON columns as they are). */
export function valueJson(type: ColumnType, data: Data, i: number): string {
  switch (type) {
    case 'string':
    case 'json': {
      const o = data.valueOffsets as Int32Array;
      const b = data.values as Uint8Array;
      const text = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8', o[i]!, o[i + 1]!);
      return type === 'json' ? text : JSON.stringify(text);
    }
    case 'bool': {
      const j = data.offset + i; // bool bits are not sliced with the data (see columnData)
      return (((data.values as Uint8Array)[j >> 3]! >> (j & 7)) & 1) === 1 ? 'true' : 'false';
    }
    case 'int64':
      return String((data.values as BigInt64Array)[i]);
    case 'timestamp':
      return JSON.stringify(isoOfMicros((data.values as BigInt64Array)[i]!));
    case 'date':
      return JSON.stringify(new Date((data.values as Int32Array)[i]! * 86_400_000).toISOString().slice(0, 10));
    default: {
      const v = (data.values as Float64Array | Int32Array)[i]!;
      return Number.isFinite(v) ? String(v) : 'null';
    }
  }
}

/** Whether the cell equals what decoding the original member text gives (as `airbyte_decode` would). */
function sameAsDecoded(col: Column, data: Data, i: number, memberText: string): boolean {
  const decoded = convertValue(JSON.parse(memberText) as unknown, col.type, () => memberText);
  if (!isValid(data, i)) return decoded === null || decoded instanceof Misfit;
  if (decoded === null || decoded instanceof Misfit) return false;
  const cell =
    data.typeId === Type.Timestamp ? (data.values as BigInt64Array)[i] : data.typeId === Type.Date ? (data.values as Int32Array)[i] : cellValue(data, i);
  if (col.type === 'int64' || col.type === 'timestamp') return BigInt(cell as number | bigint | string) === BigInt(decoded as number | bigint);
  return cell === decoded;
}

export class RecordWriter {
  private readonly data: Column[];
  private readonly byKey: Map<string, Column>;
  private readonly whole: Column | null;
  private readonly extractedAt: number | null;
  private readonly meta: number | null;
  private readonly text: number | null;
  private readonly declared: ReadonlySet<string>;
  private readonly prefix: string;

  constructor(
    schema: Schema,
    private readonly stream: { readonly name: string; readonly namespace?: string | undefined },
  ) {
    const cols = schema.fields.map((f, c) => ({ name: f.name, type: fieldType(f), c, role: f.metadata.get(ROLE), key: f.metadata.get(KEY) ?? f.name }));
    // Without the decoder's tags (a plan's own columns), Airbyte's meta column names are meta, everything else data.
    const isMeta = (f: (typeof cols)[number]) => f.role === 'meta' || (f.role === undefined && META_NAMES.has(f.name));
    const text = cols.find((f) => f.role === 'record_text');
    this.whole = cols.find((f) => f.role === 'whole_record') ?? null;
    this.data = cols.filter((f) => !isMeta(f) && f.role !== 'record_text' && f.role !== 'whole_record');
    this.byKey = new Map(this.data.map((f) => [f.key, f]));
    this.extractedAt = cols.find((f) => isMeta(f) && f.name === META.extractedAt)?.c ?? null;
    this.meta = cols.find((f) => isMeta(f) && f.name === META.meta)?.c ?? null;
    this.text = text?.c ?? null;
    this.declared = new Set(text ? (JSON.parse(schema.fields[text.c]!.metadata.get(DECLARED) ?? '[]') as string[]) : []);
    this.prefix = `{"type":"RECORD","record":{"stream":${JSON.stringify(stream.name)}${stream.namespace !== undefined ? `,"namespace":${JSON.stringify(stream.namespace)}` : ''},"data":`;
  }

  /** The RECORD lines of `batch` (each ending in a newline). */
  lines(batch: RecordBatch, now: number): string[] {
    const cols = this.data.map((f) => columnData(batch, f.c));
    const whole = this.whole ? columnData(batch, this.whole.c) : null;
    const text = this.text !== null ? columnData(batch, this.text) : null;
    const out = new Array<string>(batch.numRows);
    for (let i = 0; i < batch.numRows; i++) {
      const original = text && isValid(text, i) ? (cellValue(text, i) as string) : null;
      out[i] = (original !== null ? this.fromOriginal(original, cols, whole, i) : this.fromColumns(batch, cols, whole, i, now)) + '\n';
    }
    return out;
  }

  private fromColumns(batch: RecordBatch, cols: Data[], whole: Data | null, i: number, now: number): string {
    // The whole-record column (a schemaless stream) is the base; columns set or add their keys on it.
    const values = new Map<string, string>();
    for (let k = 0; k < cols.length; k++) if (isValid(cols[k]!, i)) values.set(this.data[k]!.key, valueJson(this.data[k]!.type, cols[k]!, i));
    const base = whole && isValid(whole, i) ? valueJson('json', whole, i) : '{}';
    const parts = memberSpans(base)
      .filter(([key]) => !values.has(key))
      .map(([, keyStart, , valueEnd]) => base.slice(keyStart, valueEnd));
    for (const [key, v] of values) parts.push(`${JSON.stringify(key)}:${v}`);
    const ext = this.extractedAt !== null ? columnData(batch, this.extractedAt) : null;
    const emittedAt = ext && isValid(ext, i) ? microsToMs((ext.values as BigInt64Array)[i]!) : now;
    const meta = this.meta !== null ? columnData(batch, this.meta) : null;
    const parsed = meta && isValid(meta, i) ? (JSON.parse(valueJson('json', meta, i)) as { changes?: { change: string }[] }) : null;
    // Only Airbyte's own change kinds describe the message; RENAMED describes warehouse columns.
    const kept = parsed?.changes?.filter((c) => c.change !== 'RENAMED') ?? [];
    const metaText = kept.length ? `,"meta":${JSON.stringify({ ...parsed, changes: kept })}` : '';
    return `${this.prefix}{${parts.join(',')}},"emitted_at":${emittedAt}${metaText}}}`;
  }

  private fromOriginal(line: string, cols: Data[], whole: Data | null, i: number): string {
    const recordSpan = members(line).get('record')!;
    const record = members(line, recordSpan[0], recordSpan[1]);
    const [dataStart, dataEnd] = record.get('data')!;
    const originalData = line.slice(dataStart, dataEnd);
    let base = originalData;
    let changed = false;
    if (whole) {
      base = isValid(whole, i) ? valueJson('json', whole, i) : '{}';
      changed = base !== originalData;
    }
    const parts: string[] = [];
    const used = new Set<string>();
    const keep = ([, keyStart, , valueEnd]: MemberSpan) => parts.push(base.slice(keyStart, valueEnd));
    const spans = memberSpans(base);
    // A repeated key: the last one is the value (as JSON.parse reads it); earlier ones stay as they are.
    const last = new Map(spans.map(([key], at) => [key, at]));
    for (const [at, m] of spans.entries()) {
      const [key, keyStart, valueStart, valueEnd] = m;
      const k = this.byKey.get(key);
      if (k && last.get(key) !== at) keep(m);
      else if (k) {
        used.add(key);
        const col = cols[this.data.indexOf(k)]!;
        if (sameAsDecoded(k, col, i, base.slice(valueStart, valueEnd))) keep(m);
        else {
          parts.push(base.slice(keyStart, valueStart) + (isValid(col, i) ? valueJson(k.type, col, i) : 'null'));
          changed = true;
        }
      } else if (!whole && this.declared.has(key))
        changed = true; // the plan removed it
      else keep(m);
    }
    this.data.forEach((k, c) => {
      if (used.has(k.key) || !isValid(cols[c]!, i)) return;
      parts.push(`${JSON.stringify(k.key)}:${valueJson(k.type, cols[c]!, i)}`);
      changed = true;
    });
    let recordText = line.slice(recordSpan[0], recordSpan[1]);
    if (changed) {
      const rel = recordSpan[0];
      recordText = recordText.slice(0, dataStart - rel) + `{${parts.join(',')}}` + recordText.slice(dataEnd - rel);
    }
    // The stream this sink writes: the record's own unless the plan routed it to another.
    const streamText = record.get('stream');
    if (!streamText || JSON.parse(line.slice(...streamText)) !== this.stream.name) {
      recordText = setMember(recordText, 'stream', JSON.stringify(this.stream.name));
      changed = true;
    }
    if (this.stream.namespace !== undefined) {
      const ns = record.get('namespace');
      if (!ns || JSON.parse(line.slice(...ns)) !== this.stream.namespace) {
        recordText = setMember(recordText, 'namespace', JSON.stringify(this.stream.namespace));
        changed = true;
      }
    }
    return changed ? line.slice(0, recordSpan[0]) + recordText + line.slice(recordSpan[1]) : line;
  }
}
