/**
 * @module runtime/partition
 * Hash partitioning by key columns into key groups, as Flink does: keyGroup = hash(key) mod maxParallelism, and
 * partition = floor(keyGroup × parallelism / maxParallelism). Key groups are the unit of state ownership, so a job
 * can later restore its state at another parallelism by re-assigning whole key groups.
 */
import { type Data, type RecordBatch, Type } from 'apache-arrow';
import { cellValue, columnData, isValid, readInt64s, stringsOf, takeBatch } from '../arrow/columns.js';
import { isoOfMicros } from '../time/timestamps.js';
import { columnTypeOf } from '../types.js';

/** Number of key groups (Flink's default max parallelism is 128). */
export const MAX_PARALLELISM = 128;

/** The canonical key of each row: key column values joined, identical in every thread and run. String columns are
 * decoded once per batch (not per row), so building keys costs no allocation beyond the key itself. */
export function keyReader(columns: readonly Data[]): (i: number) => string {
  const parts = columns.map((d): ((i: number) => string) => {
    if (d.typeId === Type.Utf8) {
      const strings = stringsOf(d);
      return (i) => strings[i] ?? '\u0000';
    }
    if (d.typeId === Type.Timestamp || (d.typeId === Type.Int && columnTypeOf(d.type) === 'int64')) return int64KeyPart(d);
    return (i) => keyPart(cellValue(d, i));
  });
  if (parts.length === 1) return parts[0]!;
  return (i) => parts.map((f) => f(i)).join('\u0001');
}

function keyPart(v: unknown): string {
  return v === null ? '\u0000' : String(v);
}

/** `keyPart(cellValue(d, i))` for 64-bit integer and timestamp columns, with the column read as numbers once per
 * batch (no BigInt per row) and a repeated timestamp's ISO text reused: window bounds, the keys of top-n per window,
 * repeat over long runs of rows (Nexmark q5's partitioning and top-n, --cpu-prof). */
function int64KeyPart(d: Data): (i: number) => string {
  const values = new Float64Array(d.length);
  readInt64s(d.values as BigInt64Array, 0, d.length, values);
  const timestamps = d.typeId === Type.Timestamp;
  let lastUs = NaN;
  let lastText = '';
  return (i) => {
    const v = values[i]!;
    if (!isValid(d, i)) return '\u0000';
    // Beyond 2^53 the halves lose precision: the exact text comes from the BigInt.
    if (!Number.isSafeInteger(v)) return keyPart(cellValue(d, i));
    if (!timestamps) return String(v);
    if (v !== lastUs) {
      lastUs = v;
      lastText = isoOfMicros(v);
    }
    return lastText;
  };
}

/** FNV-1a over UTF-16 code units, then a murmur3 finalizer for spread: fast and stable across threads. */
export function keyHash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export function keyGroupOf(key: string, maxParallelism = MAX_PARALLELISM): number {
  return keyHash(key) % maxParallelism;
}

export function partitionOfKeyGroup(keyGroup: number, parallelism: number, maxParallelism = MAX_PARALLELISM): number {
  return Math.floor((keyGroup * parallelism) / maxParallelism);
}

export interface Partitioned {
  readonly partition: number;
  readonly batch: RecordBatch;
  /** Input rows of this piece (lineage for positions). */
  readonly rows: Int32Array;
}

/** Splits a batch by the hash of its key columns; pieces keep row order. */
export function partitionBatch(batch: RecordBatch, keyColumns: readonly number[], parallelism: number): Partitioned[] {
  if (parallelism === 1) return [{ partition: 0, batch, rows: Int32Array.from({ length: batch.numRows }, (_, i) => i) }];
  const key = keyReader(keyColumns.map((c) => columnData(batch, c)));
  const target = new Int32Array(batch.numRows);
  const counts = new Int32Array(parallelism);
  for (let i = 0; i < batch.numRows; i++) {
    const p = partitionOfKeyGroup(keyGroupOf(key(i)), parallelism);
    target[i] = p;
    counts[p]!++;
  }
  const out: Partitioned[] = [];
  for (let p = 0; p < parallelism; p++) {
    if (!counts[p]) continue;
    const rows = new Int32Array(counts[p]!);
    let k = 0;
    for (let i = 0; i < batch.numRows; i++) if (target[i] === p) rows[k++] = i;
    out.push({ partition: p, batch: takeBatch(batch, rows), rows });
  }
  return out;
}
