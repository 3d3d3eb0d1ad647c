/**
 * @module arrow/columns
 * Building and reading Arrow columns without per-value Arrow calls. apache-arrow's `vectorFromArray` and
 * `tableFromJSON` are 10-15x slower than filling the buffers directly (measured, shared/SETUP-NOTES.md), so the
 * builders here write typed arrays and the readers hand out typed arrays; everything else stays plain Arrow.
 */
import { Data, Field, makeData, RecordBatch, Schema, Struct, Type } from 'apache-arrow';
import { isoOfMicros, microsToMs } from '../time/timestamps.js';
import { type ColumnType, columnTypeOf, toArrowType } from '../types.js';

const encoder = new TextEncoder();

/** Appends values of one column type into growable buffers; `finish()` returns the Arrow `Data`. */
export class ColumnBuilder {
  readonly type: ColumnType;
  /** Timestamps are stored in microseconds and appended as milliseconds (see appendNumber). */
  private readonly micros: boolean;
  length = 0;
  private nulls = 0;
  private valid: Uint8Array;
  private nums: Float64Array | BigInt64Array | Int32Array | Uint8Array;
  /** int32 view of a BigInt64Array `nums` (reset when `nums` grows). */
  private halves: Int32Array | null = null;
  private offsets: Int32Array | null = null;
  private bytes: Uint8Array | null = null;
  private byteLength = 0;

  constructor(type: ColumnType, capacity = 1024) {
    this.type = type === 'json' ? 'string' : type; // JSON text is stored as a string
    this.micros = type === 'timestamp';
    const cap = Math.max(capacity, 16);
    this.valid = new Uint8Array(cap);
    if (this.type === 'string') {
      this.nums = new Uint8Array(0);
      this.offsets = new Int32Array(cap + 1);
      this.bytes = new Uint8Array(cap * 16);
    } else if (type === 'int64' || type === 'timestamp') this.nums = new BigInt64Array(cap);
    else if (type === 'int32' || type === 'date') this.nums = new Int32Array(cap);
    else if (type === 'bool') this.nums = new Uint8Array(cap);
    else this.nums = new Float64Array(cap);
  }

  private grow(): void {
    const cap = this.valid.length * 2;
    const valid = new Uint8Array(cap);
    valid.set(this.valid);
    this.valid = valid;
    if (this.offsets) {
      const o = new Int32Array(cap + 1);
      o.set(this.offsets);
      this.offsets = o;
    } else {
      const Ctor = this.nums.constructor as new (n: number) => typeof this.nums;
      const n = new Ctor(cap);
      (n as Float64Array).set(this.nums as Float64Array);
      this.nums = n;
      this.halves = null;
    }
  }

  appendNull(): void {
    if (this.length === this.valid.length) this.grow();
    if (this.offsets) this.offsets[this.length + 1] = this.byteLength;
    this.length++;
    this.nulls++;
  }

  /** Numbers for numeric, timestamp and date (days) columns. A timestamp is given as epoch milliseconds (a number,
   * fractions kept to the microsecond) or as epoch microseconds (a bigint, exact); bigint accepted for 64-bit ints. */
  appendNumber(v: number | bigint): void {
    if (this.length === this.valid.length) this.grow();
    const i = this.length++;
    this.valid[i] = 1;
    if (this.nums instanceof BigInt64Array) {
      if (typeof v === 'bigint') this.nums[i] = v;
      else if (!this.micros) writeInt64((this.halves ??= int64Halves(this.nums)), i, v);
      // ms → µs: exact through the halves within ±2^53 µs (years 1685-2255), through a BigInt beyond.
      else if (Math.abs(v) < 9e12) writeInt64((this.halves ??= int64Halves(this.nums)), i, Math.round(v * 1000));
      else this.nums[i] = BigInt(Math.trunc(v)) * 1000n;
    } else (this.nums as Float64Array)[i] = Number(v);
  }

  appendBool(v: boolean): void {
    if (this.length === this.valid.length) this.grow();
    const i = this.length++;
    this.valid[i] = 1;
    (this.nums as Uint8Array)[i] = v ? 1 : 0;
  }

  appendString(s: string): void {
    if (this.length === this.valid.length) this.grow();
    // Worst case 3 bytes per UTF-16 unit; grow before encoding so it never truncates.
    const need = this.byteLength + s.length * 3;
    let bytes = this.bytes!;
    if (need > bytes.length) {
      const b = new Uint8Array(Math.max(need, bytes.length * 2));
      b.set(bytes.subarray(0, this.byteLength));
      this.bytes = bytes = b;
    }
    // Short ASCII strings (ids, codes, statuses) are copied in JS: cheaper than a native encodeInto call each.
    // Equivalent to: this.byteLength += encoder.encodeInto(s, bytes.subarray(this.byteLength)).written
    let at = this.byteLength;
    let ascii = s.length <= 64;
    for (let k = 0; ascii && k < s.length; k++) {
      const c = s.charCodeAt(k);
      if (c > 127) ascii = false;
      else bytes[at++] = c;
    }
    this.byteLength = ascii ? at : this.byteLength + encoder.encodeInto(s, bytes.subarray(this.byteLength)).written;
    const i = this.length++;
    this.valid[i] = 1;
    this.offsets![i + 1] = this.byteLength;
  }

  /** Raw UTF-8 bytes (already validated by the caller). */
  appendUtf8(src: Uint8Array, start: number, end: number): void {
    if (this.length === this.valid.length) this.grow();
    const n = end - start;
    let bytes = this.bytes!;
    if (this.byteLength + n > bytes.length) {
      const b = new Uint8Array(Math.max(this.byteLength + n, bytes.length * 2));
      b.set(bytes.subarray(0, this.byteLength));
      this.bytes = bytes = b;
    }
    // Short values are copied in a loop: `set(subarray())` allocates a view object per call.
    if (n <= 48) for (let k = 0; k < n; k++) bytes[this.byteLength + k] = src[start + k]!;
    else bytes.set(src.subarray(start, end), this.byteLength);
    this.byteLength += n;
    const i = this.length++;
    this.valid[i] = 1;
    this.offsets![i + 1] = this.byteLength;
  }

  finish(): Data {
    const length = this.length;
    const nullBitmap = this.nulls > 0 ? packValidity(this.valid, length) : undefined;
    const type = toArrowType(this.type);
    const nullCount = this.nulls;
    if (this.type === 'string') {
      return makeData({
        type: type as never,
        length,
        nullCount,
        nullBitmap,
        valueOffsets: this.offsets!.slice(0, length + 1),
        data: this.bytes!.slice(0, this.byteLength),
      } as never);
    }
    if (this.type === 'bool')
      return makeData({ type: type as never, length, nullCount, nullBitmap, data: packValidity(this.nums as Uint8Array, length) } as never);
    return makeData({ type: type as never, length, nullCount, nullBitmap, data: this.nums.slice(0, length) } as never);
  }
}

const TWO_32 = 4294967296;

/** Stores an integral number (|v| < 2^53) into a BigInt64Array slot through its two little-endian int32 halves:
 * the same bits as `a[i] = BigInt(v)` without allocating a BigInt per value (several times faster). */
export function writeInt64(halves: Int32Array, i: number, v: number): void {
  const t = Math.trunc(v);
  const hi = Math.floor(t / TWO_32);
  halves[2 * i] = t - hi * TWO_32;
  halves[2 * i + 1] = hi;
}

/** An Int32Array over the same memory as a BigInt64Array (for writeInt64/readInt64s). */
export function int64Halves(a: BigInt64Array): Int32Array {
  return new Int32Array(a.buffer, a.byteOffset, a.length * 2);
}

/** Reads `length` int64 values from index `first` as numbers through int32 halves (exact below 2^53), avoiding a
 * BigInt per value. */
export function readInt64s(a: BigInt64Array, first: number, length: number, out: Float64Array): void {
  const halves = int64Halves(a);
  for (let i = 0; i < length; i++) {
    const j = (first + i) * 2;
    out[i] = halves[j + 1]! * TWO_32 + (halves[j]! >>> 0);
  }
}

/** Byte-per-row flags → Arrow's LSB bit order bitmap. */
export function packValidity(flags: Uint8Array, length: number): Uint8Array {
  const bits = new Uint8Array(((length + 63) >> 6) << 3);
  for (let i = 0; i < length; i++) if (flags[i]) bits[i >> 3]! |= 1 << (i & 7);
  return bits;
}

/** A float64 column over `values` as is (no copy: the caller hands the array over); `valid` is byte-per-row. */
export function float64Data(values: Float64Array, valid: Uint8Array | null): Data {
  let nulls = 0;
  if (valid) for (let i = 0; i < values.length; i++) nulls += valid[i] ? 0 : 1;
  const nullBitmap = nulls ? packValidity(valid!, values.length) : undefined;
  return makeData({ type: toArrowType('float64') as never, length: values.length, nullCount: nulls, nullBitmap, data: values } as never);
}

/** A string column holding `value` in every row where `valid` is set (null elsewhere): stamps such as a model
 * version, built by repeating the encoded bytes instead of encoding per row. */
export function repeatedString(value: string, n: number, valid: Uint8Array | null = null): Data {
  const bytes = encoder.encode(value);
  const offsets = new Int32Array(n + 1);
  const data = new Uint8Array(bytes.length * n);
  let at = 0;
  let nulls = 0;
  for (let i = 0; i < n; i++) {
    if (!valid || valid[i]) {
      data.set(bytes, at);
      at += bytes.length;
    } else nulls++;
    offsets[i + 1] = at;
  }
  const nullBitmap = nulls ? packValidity(valid!, n) : undefined;
  return makeData({
    type: toArrowType('string') as never,
    length: n,
    nullCount: nulls,
    nullBitmap,
    valueOffsets: offsets,
    data: data.subarray(0, at),
  } as never);
}

export function makeBatch(schema: Schema, columns: readonly Data[], length?: number): RecordBatch {
  const n = length ?? columns[0]?.length ?? 0;
  const data = makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children: columns as Data[] });
  return new RecordBatch(schema, data);
}

export function emptyBatch(schema: Schema): RecordBatch {
  return makeBatch(
    schema,
    schema.fields.map((f) => new ColumnBuilder(columnTypeOf(f.type), 0).finish()),
    0,
  );
}

/** Builds a batch row by row from plain objects: for sources and tests, not hot paths. */
export function batchFromRows(schema: Schema, rows: readonly Record<string, unknown>[]): RecordBatch {
  const builders = schema.fields.map((f) => new ColumnBuilder(columnTypeOf(f.type), rows.length));
  for (const row of rows) {
    schema.fields.forEach((f, i) => appendValue(builders[i]!, row[f.name]));
  }
  return makeBatch(
    schema,
    builders.map((b) => b.finish()),
    rows.length,
  );
}

export function appendValue(b: ColumnBuilder, v: unknown): void {
  if (v === null || v === undefined) return b.appendNull();
  switch (b.type) {
    case 'string':
      return b.appendString(String(v));
    case 'bool':
      return b.appendBool(Boolean(v));
    case 'timestamp':
      // A Date or epoch ms (number), or epoch µs (bigint).
      return b.appendNumber(v instanceof Date ? v.getTime() : (v as number | bigint));
    default:
      return b.appendNumber(v as number | bigint);
  }
}

/** The single `Data` chunk of a batch column (a RecordBatch column always has exactly one). */
/**
 * The single `Data` chunk of a batch column (a RecordBatch column always has exactly one).
 *
 * Indexing a sliced column (`batch.slice`, `data.offset > 0`): Arrow JS slices the value and value-offset buffers
 * with the data, so row i is `values[i]` / `valueOffsets[i]`; it does not slice the validity bitmap or bool bits, so
 * those are read at bit `data.offset + i`.
 */
export function columnData(batch: RecordBatch, index: number): Data {
  return batch.data.children[index]!;
}

export function isValid(data: Data, i: number): boolean {
  const bm = data.nullBitmap;
  if (!bm || data.nullCount === 0) return true;
  const j = data.offset + i;
  return (bm[j >> 3]! & (1 << (j & 7))) !== 0;
}

/** Byte-per-row validity (1 = value), or null when the column has no nulls. */
export function validityBytes(data: Data): Uint8Array | null {
  if (!data.nullBitmap || data.nullCount === 0) return null;
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = isValid(data, i) ? 1 : 0;
  return out;
}

/** Numeric view of a column as float64: int64 converted (exact below 2^53), timestamps as epoch milliseconds. */
export function numbersOf(data: Data): Float64Array {
  const values = data.values as ArrayLike<number | bigint>;
  const out = new Float64Array(data.length);
  if (data.typeId === Type.Bool) {
    for (let i = 0; i < data.length; i++) {
      const j = data.offset + i;
      out[i] = ((values as Uint8Array)[j >> 3]! >> (j & 7)) & 1;
    }
  } else if (data.typeId === Type.Timestamp) {
    readInt64s(values as BigInt64Array, 0, data.length, out);
    for (let i = 0; i < data.length; i++) {
      const us = out[i]!;
      out[i] = Math.abs(us) < Number.MAX_SAFE_INTEGER ? Math.floor(us / 1000) : microsToMs((values as BigInt64Array)[i]!);
    }
  } else if (values instanceof BigInt64Array) readInt64s(values, 0, data.length, out);
  else for (let i = 0; i < data.length; i++) out[i] = values[i] as number;
  return out;
}

/** Strings of a utf8 column (null for null slots); Node's native UTF-8 slice beats TextDecoder per value. */
export function stringsOf(data: Data): (string | null)[] {
  const offsets = data.valueOffsets as Int32Array;
  const bytes = data.values as Uint8Array;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Array<string | null>(data.length);
  for (let i = 0; i < data.length; i++) {
    out[i] = isValid(data, i) ? buf.toString('utf8', offsets[i]!, offsets[i + 1]!) : null;
  }
  return out;
}

/** A JS value for one cell: for row-wise consumers (JSONL/console sinks, dead-letter raw rows). */
export function cellValue(data: Data, i: number): unknown {
  if (!isValid(data, i)) return null;
  switch (data.typeId) {
    case Type.Utf8: {
      const o = data.valueOffsets as Int32Array;
      const b = data.values as Uint8Array;
      return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8', o[i]!, o[i + 1]!);
    }
    case Type.Bool: {
      const j = data.offset + i;
      return (((data.values as Uint8Array)[j >> 3]! >> (j & 7)) & 1) === 1;
    }
    case Type.Timestamp:
      return isoOfMicros((data.values as BigInt64Array)[i]!);
    case Type.Date:
      return new Date((data.values as Int32Array)[i]! * 86_400_000).toISOString().slice(0, 10);
    default: {
      const v = (data.values as ArrayLike<number | bigint>)[i]!;
      return typeof v === 'bigint' ? (Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()) : v;
    }
  }
}

export function rowObject(batch: RecordBatch, i: number): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  batch.schema.fields.forEach((f, c) => (row[f.name] = cellValue(columnData(batch, c), i)));
  return row;
}

/** The rows a take copies, as runs of consecutive source rows: run r copies rows [from[r], from[r] + length[r]).
 * Filters and routes keep most rows in order, so a batch is a few long runs; found once for all columns. */
interface Runs {
  readonly count: number;
  readonly n: number;
  readonly from: Int32Array;
  readonly length: Int32Array;
}

function runsOf(indices: Int32Array | Uint32Array, count: number): Runs {
  const from = new Int32Array(count);
  const length = new Int32Array(count);
  let n = 0;
  for (let k = 0; k < count; n++) {
    const first = indices[k]!;
    let len = 1;
    while (k + len < count && indices[k + len] === first + len) len++;
    from[n] = first;
    length[n] = len;
    k += len;
  }
  return { count, n, from, length };
}

/** The rows of `runs` of a column, as a new column (filter/route/take/partition). Copied a run at a time: a byte
 * range and a word range per run instead of one value per row, which also avoids reading a BigInt per int64 value
 * (filter's copies were ≈ 8 % of a pool worker's time in native-bench "a"). Short runs are copied in loops, as a
 * typed-array view per call costs more (a hash partition takes scattered rows). */
function takeData(data: Data, runs: Runs): Data {
  const { count, n: runCount, from, length } = runs;
  const type = columnTypeOf(data.type);
  const off = data.offset;
  let nullBitmap: Uint8Array | undefined;
  let nullCount = 0;
  if (data.nullCount > 0) {
    const flags = new Uint8Array(count);
    for (let r = 0, k = 0; r < runCount; r++)
      for (let i = from[r]!, end = i + length[r]!; i < end; i++, k++) {
        if (isValid(data, i)) flags[k] = 1;
        else nullCount++;
      }
    if (nullCount) nullBitmap = packValidity(flags, count);
  }
  if (type === 'bool') {
    const v = data.values as Uint8Array;
    const flags = new Uint8Array(count);
    for (let r = 0, k = 0; r < runCount; r++) for (let j = off + from[r]!, end = j + length[r]!; j < end; j++, k++) flags[k] = (v[j >> 3]! >> (j & 7)) & 1;
    return makeData({ type: data.type, length: count, nullCount, nullBitmap, data: packValidity(flags, count) } as never);
  }
  if (type === 'string' || type === 'json') {
    const o = data.valueOffsets as Int32Array;
    const bytes = data.values as Uint8Array;
    let total = 0;
    for (let r = 0; r < runCount; r++) total += o[from[r]! + length[r]!]! - o[from[r]!]!;
    const values = new Uint8Array(total);
    const offsets = new Int32Array(count + 1);
    for (let r = 0, k = 0, at = 0; r < runCount; r++) {
      const first = from[r]!;
      const end = first + length[r]!;
      const start = o[first]!;
      const n = o[end]! - start;
      for (let i = first; i < end; i++) offsets[++k] = o[i + 1]! - start + at;
      if (n <= 48) for (let b = 0; b < n; b++) values[at + b] = bytes[start + b]!;
      else values.set(bytes.subarray(start, start + n), at);
      at += n;
    }
    return makeData({ type: data.type, length: count, nullCount, nullBitmap, valueOffsets: offsets, data: values } as never);
  }
  // Fixed width: copied as 32-bit words (a BigInt64Array element read would allocate a BigInt; a float64 one could
  // canonicalize a NaN's bits), into a typed array of the source's own kind. Narrower integers, as IPC input may
  // hold, are copied as themselves.
  const src = data.values as Float64Array | BigInt64Array | Int32Array;
  const out = new (src.constructor as new (n: number) => typeof src)(count);
  const w = Math.max(1, src.BYTES_PER_ELEMENT >> 2);
  const Word = (src.BYTES_PER_ELEMENT >= 4 ? Int32Array : src.constructor) as Int32ArrayConstructor;
  const words = new Word(src.buffer, src.byteOffset, src.length * w);
  const outWords = new Word(out.buffer);
  for (let r = 0, at = 0; r < runCount; r++) {
    const start = from[r]! * w;
    const n = length[r]! * w;
    if (n <= 16) for (let i = 0; i < n; i++) outWords[at + i] = words[start + i]!;
    else outWords.set(words.subarray(start, start + n), at);
    at += n;
  }
  return makeData({ type: data.type, length: count, nullCount, nullBitmap, data: out } as never);
}

/** Rows `indices` of a batch, as a new batch (the batch itself when they are all its rows in order). */
export function takeBatch(batch: RecordBatch, indices: Int32Array | Uint32Array, count = indices.length): RecordBatch {
  if (count === batch.numRows && isIdentity(indices, count)) return batch;
  const runs = runsOf(indices, count);
  return makeBatch(
    batch.schema,
    batch.data.children.map((c) => takeData(c, runs)),
    count,
  );
}

function isIdentity(indices: ArrayLike<number>, count: number): boolean {
  for (let i = 0; i < count; i++) if (indices[i] !== i) return false;
  return true;
}

/** Concatenates batches of one schema (sinks batching many small inputs). */
export function concatBatches(schema: Schema, batches: readonly RecordBatch[]): RecordBatch {
  if (batches.length === 1) return batches[0]!;
  const total = batches.reduce((n, b) => n + b.numRows, 0);
  const cols = schema.fields.map((f: Field, c) => {
    const b = new ColumnBuilder(columnTypeOf(f.type), total);
    for (const batch of batches) {
      const d = columnData(batch, c);
      for (let i = 0; i < d.length; i++) appendCell(b, d, i);
    }
    return b.finish();
  });
  return makeBatch(schema, cols, total);
}

function appendCell(b: ColumnBuilder, d: Data, i: number): void {
  if (!isValid(d, i)) return b.appendNull();
  if (d.typeId === Type.Utf8) {
    const o = d.valueOffsets as Int32Array;
    b.appendUtf8(d.values as Uint8Array, o[i]!, o[i + 1]!);
  } else if (d.typeId === Type.Bool) {
    const j = d.offset + i;
    b.appendBool((((d.values as Uint8Array)[j >> 3]! >> (j & 7)) & 1) === 1);
  } else b.appendNumber((d.values as ArrayLike<number | bigint>)[i]!);
}
