/**
 * @module expr/vec
 * The columnar values expressions compute on: float64 numbers (ints, timestamps in ms and dates in days included),
 * byte booleans and JS strings, each with a byte-per-row validity array. Kernels loop over these typed arrays.
 */
import type { Data } from 'apache-arrow';
import { ColumnBuilder, numbersOf, stringsOf, validityBytes } from '../arrow/columns.js';
import type { ColumnType } from '../types.js';

export type Vec =
  | { kind: 'num'; v: Float64Array; valid: Uint8Array | null }
  | { kind: 'bool'; v: Uint8Array; valid: Uint8Array | null }
  | { kind: 'str'; v: (string | null)[] };

export function vecFromData(data: Data, type: ColumnType): Vec {
  if (type === 'string' || type === 'json') return { kind: 'str', v: stringsOf(data) };
  if (type === 'bool') {
    const n = numbersOf(data);
    const v = new Uint8Array(n.length);
    for (let i = 0; i < n.length; i++) v[i] = n[i]!;
    return { kind: 'bool', v, valid: validityBytes(data) };
  }
  return { kind: 'num', v: numbersOf(data), valid: validityBytes(data) };
}

export function constVec(value: unknown, n: number): Vec {
  if (value === null) {
    const valid = new Uint8Array(n);
    return { kind: 'num', v: new Float64Array(n), valid };
  }
  if (typeof value === 'string') return { kind: 'str', v: new Array<string | null>(n).fill(value) };
  if (typeof value === 'boolean') return { kind: 'bool', v: new Uint8Array(n).fill(value ? 1 : 0), valid: null };
  return { kind: 'num', v: new Float64Array(n).fill(value as number), valid: null };
}

export function isNullAt(x: Vec, i: number): boolean {
  return x.kind === 'str' ? x.v[i] === null : x.valid !== null && x.valid[i] === 0;
}

/** Validity of a result that is null wherever any input is null. */
export function andValid(n: number, ...vs: Vec[]): Uint8Array | null {
  let out: Uint8Array | null = null;
  for (const x of vs) {
    if (x.kind === 'str') {
      for (let i = 0; i < n; i++) {
        if (x.v[i] === null) {
          out ??= new Uint8Array(n).fill(1);
          out[i] = 0;
        }
      }
    } else if (x.valid) {
      if (!out) out = x.valid.slice();
      else for (let i = 0; i < n; i++) out[i]! &= x.valid[i]!;
    }
  }
  return out;
}

/** Writes a vector into an Arrow column of `type`. */
export function vecToData(x: Vec, type: ColumnType, n: number): Data {
  const b = new ColumnBuilder(type, n);
  if (x.kind === 'str') {
    for (let i = 0; i < n; i++) {
      const s = x.v[i];
      if (s === null || s === undefined) b.appendNull();
      else b.appendString(s);
    }
  } else if (x.kind === 'bool') {
    for (let i = 0; i < n; i++) x.valid && !x.valid[i] ? b.appendNull() : b.appendBool(x.v[i] === 1);
  } else {
    for (let i = 0; i < n; i++) x.valid && !x.valid[i] ? b.appendNull() : b.appendNumber(x.v[i]!);
  }
  return b.finish();
}
