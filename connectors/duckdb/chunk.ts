/**
 * Arrow columns → DuckDB data chunks, column by column in bulk.
 *
 * Hand-written for measured speed (native-bench micro "duckdb sink write"): the node-api vector classes take one JS
 * value per row (`setItem`), which meant decoding every string from UTF-8 and boxing every int64 and timestamp as a
 * BigInt, only for the binding to encode them again. Here fixed-width columns are copied as raw bytes (Arrow and
 * DuckDB share the little-endian layouts of INTEGER, BIGINT, DOUBLE and DATE), timestamps are scaled ms → µs in plain
 * numbers, and strings are written as DuckDB's 16-byte `duckdb_string_t` directly: up to 12 bytes inline in the
 * vector, longer ones through `vector_assign_string_element_len` (DuckDB must own their bytes). Validity follows
 * DuckDB's bitmask (bit i of little-endian 64-bit words: the same bit order as Arrow's bitmap).
 */
import type DuckDB from '@duckdb/node-bindings';
import type { DuckDBDataChunk, DuckDBType } from '@duckdb/node-api';
import { type ColumnType, columnData, duckdbApi, int64Halves, lazyRequire, type RecordBatch, writeInt64 } from '../../engine/api.js';

const loadBindings = lazyRequire<typeof DuckDB>(import.meta.url, '@duckdb/node-bindings');
/** The native bindings, set by `encodeChunk` before any writer below runs. */
let duckdb: typeof DuckDB;

/** DuckDB's standard vector size: the most rows one chunk holds. */
export const CHUNK_ROWS = 2048;

const INLINE_MAX = 12; // longest string stored inside duckdb_string_t itself
/** Largest |ms| whose µs value is still an exact double (2^53 / 1000): beyond it, scale in BigInt. */

/** Scratch buffers, reused across chunks (one sink writes one chunk at a time). */
const scratch = {
  bytes: new Uint8Array(CHUNK_ROWS * 16),
  validity: new Uint8Array(CHUNK_ROWS / 8),
};
const scratchU32 = new Uint32Array(scratch.bytes.buffer);
const scratchI64 = new BigInt64Array(scratch.bytes.buffer);
const scratchHalves = int64Halves(scratchI64);

type Vector = DuckDB.Vector;

function copyBytes(vec: Vector, src: ArrayBufferView, byteStart: number, byteCount: number): void {
  duckdb.copy_data_to_vector(vec, 0, src.buffer as ArrayBuffer, src.byteOffset + byteStart, byteCount);
}

function writeValidity(vec: Vector, bitmap: Uint8Array, bitOffset: number, n: number): void {
  const out = scratch.validity;
  const bytes = Math.ceil(n / 64) * 8;
  out.fill(0xff, 0, bytes);
  for (let k = 0; k < n; k++) {
    const j = bitOffset + k;
    if ((bitmap[j >> 3]! & (1 << (j & 7))) === 0) out[k >> 3]! &= ~(1 << (k & 7));
  }
  duckdb.vector_ensure_validity_writable(vec);
  duckdb.copy_data_to_vector_validity(vec, 0, out.buffer, 0, bytes);
}

/** Whether rows [first, first + n) hold one string too long to inline, on every row. */
function oneLongString(offsets: Int32Array, values: Uint8Array, first: number, n: number): boolean {
  const a0 = offsets[first]!;
  const len = offsets[first + 1]! - a0;
  if (len <= INLINE_MAX) return false;
  for (let k = 1; k < n; k++) {
    const a = offsets[first + k]!;
    if (offsets[first + k + 1]! - a !== len) return false;
    for (let i = 0; i < len; i++) if (values[a + i] !== values[a0 + i]) return false;
  }
  return true;
}

const utf8 = new TextDecoder();

/** Strings as duckdb_string_t. A long string repeated on every row of the chunk (Airbyte's `_airbyte_meta`, a tag
 * column) becomes one constant vector: comparing the bytes costs far less than a native call per row. */
function writeStrings(vec: Vector, offsets: Int32Array, values: Uint8Array, first: number, n: number, noNulls: boolean): void {
  if (noNulls && oneLongString(offsets, values, first, n)) {
    const a0 = offsets[first]!;
    duckdb.vector_reference_value(vec, duckdb.create_varchar(utf8.decode(values.subarray(a0, offsets[first + 1]!))));
    return;
  }
  const out = scratch.bytes;
  out.fill(0, 0, n * 16);
  let long = false;
  for (let k = 0; k < n; k++) {
    const a = offsets[first + k]!;
    const len = offsets[first + k + 1]! - a;
    if (len > INLINE_MAX) long = true;
    else {
      scratchU32[4 * k] = len;
      // A loop, not set(subarray()): a view object per short string was most of the sink's garbage.
      for (let i = 0; i < len; i++) out[k * 16 + 4 + i] = values[a + i]!;
    }
  }
  duckdb.copy_data_to_vector(vec, 0, out.buffer, 0, n * 16);
  if (!long) return;
  for (let k = 0; k < n; k++) {
    const a = offsets[first + k]!;
    const b = offsets[first + k + 1]!;
    if (b - a > INLINE_MAX) duckdb.vector_assign_string_element_len(vec, k, values.subarray(a, b));
  }
}

function writeBools(vec: Vector, bits: Uint8Array, first: number, n: number): void {
  const out = scratch.bytes;
  for (let k = 0; k < n; k++) {
    const j = first + k;
    out[k] = (bits[j >> 3]! >> (j & 7)) & 1;
  }
  duckdb.copy_data_to_vector(vec, 0, out.buffer, 0, n);
}

/** Fills column `c` of `chunk` with rows [start, start + n) of the batch's column `c`. */
function writeColumn(vec: Vector, batch: RecordBatch, c: number, type: ColumnType, start: number, n: number): void {
  const data = columnData(batch, c);
  // Values are indexed from the slice's start, bits from data.offset (see columnData). Null slots hold whatever the
  // producer left there; DuckDB ignores them under a cleared validity bit.
  const bit = data.offset + start;
  switch (type) {
    case 'string':
    case 'json':
      writeStrings(vec, data.valueOffsets as Int32Array, data.values as Uint8Array, start, n, data.nullCount === 0);
      break;
    case 'bool':
      writeBools(vec, data.values as Uint8Array, bit, n);
      break;
    case 'int32':
    case 'date':
      copyBytes(vec, data.values as Int32Array, start * 4, n * 4);
      break;
    // abflow's timestamps are microseconds, as DuckDB's TIMESTAMP (WITH TIME ZONE) are: copied as they are.
    case 'timestamp':
    case 'int64':
    case 'float64':
      copyBytes(vec, data.values as Float64Array | BigInt64Array, start * 8, n * 8);
      break;
  }
  if (data.nullCount > 0 && data.nullBitmap) writeValidity(vec, data.nullBitmap, bit, n);
}

/**
 * A data chunk holding rows [start, start + n) of `batch` (n ≤ CHUNK_ROWS) in `types`' columns. With `tags`, two
 * BIGINT columns follow: `epoch` on every row and `firstSeq + start + k` on row k (the staging table's checkpoint
 * epoch and arrival sequence).
 */
export function encodeChunk(
  duckTypes: readonly DuckDBType[],
  batch: RecordBatch,
  types: readonly ColumnType[],
  start: number,
  n: number,
  tags?: { readonly epoch: number; readonly firstSeq: number },
): DuckDBDataChunk {
  duckdb ??= loadBindings();
  const chunk = duckdbApi().DuckDBDataChunk.create(duckTypes as DuckDBType[], n);
  const raw = chunk.chunk;
  types.forEach((type, c) => writeColumn(duckdb.data_chunk_get_vector(raw, c), batch, c, type, start, n));
  if (!tags) return chunk;
  scratchI64.fill(BigInt(tags.epoch), 0, n);
  duckdb.copy_data_to_vector(duckdb.data_chunk_get_vector(raw, types.length), 0, scratch.bytes.buffer, 0, n * 8);
  for (let k = 0; k < n; k++) writeInt64(scratchHalves, k, tags.firstSeq + start + k);
  duckdb.copy_data_to_vector(duckdb.data_chunk_get_vector(raw, types.length + 1), 0, scratch.bytes.buffer, 0, n * 8);
  return chunk;
}
