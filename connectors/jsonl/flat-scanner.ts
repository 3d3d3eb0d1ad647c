/**
 * A scanner for flat JSON objects that extracts the requested fields straight from UTF-8 bytes. Hand-written
 * because it buys measured speed on the hottest path of JSON ingestion (see native-bench, "json → arrow"): string
 * values are copied as bytes into Arrow buffers without ever becoming JS strings, and fields a plan does not use are
 * skipped without being built. It is deliberately partial: it answers `false` on anything it does not handle exactly
 * like JSON.parse (escapes, control characters, nested values in wanted fields, a value whose JSON type does not
 * match its column, malformed input), and the caller then takes the JSON.parse path, which gives the identical
 * result or the identical error. So correctness never depends on this file, only speed does.
 */
import { canonicalUtc, type ColumnType } from '../../engine/api.js';

const QUOTE = 34;
const BACKSLASH = 92;
const COLON = 58;
const COMMA = 44;
const OPEN = 123;
const CLOSE = 125;
const OPEN_ARR = 91;
const CLOSE_ARR = 93;
const MINUS = 45;
const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);

/** What a wanted field held on the last scanned line. */
export const enum Slot {
  Missing = 0,
  Null = 1,
  Bytes = 2,
  Number = 3,
  Bool = 4,
  /** An object read by the field's nested scanner (start in `num`, end in `end`). */
  Object = 5,
}

/** A wanted field: its name and column type, or `object` for a nested object read by `ObjectReader`. */
export type ScanField = readonly [string, ColumnType | 'object'];

/** Reads the object value of field `col` starting at `start` (its `{`); returns the offset after its `}`, or -1
 * when it cannot (the line then takes the JSON.parse path). */
export type ObjectReader = (col: number, bytes: Uint8Array, start: number, end: number) => number;

/** True when bytes[start, end) equal `want`. Compared in JS: for these few bytes a native call costs more. */
export function equalBytes(bytes: Uint8Array, start: number, end: number, want: Uint8Array): boolean {
  if (end - start !== want.length) return false;
  for (let k = 0; k < want.length; k++) if (bytes[start + k] !== want[k]) return false;
  return true;
}

// One byte reader for `utcTimestampAt`, pointed at each value in turn, so no closure is made per value.
let tsBytes: Uint8Array = new Uint8Array(0);
let tsAt = 0;
const tsByte = (k: number) => tsBytes[tsAt + k]!;

/** The canonical UTC timestamp text in bytes[start, end) as epoch milliseconds, or NaN (see `canonicalUtc`). */
export function utcTimestampAt(bytes: Uint8Array, start: number, end: number): number {
  tsBytes = bytes;
  tsAt = start;
  return canonicalUtc(tsByte, end - start);
}

function isWs(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

export class FlatJsonScanner {
  readonly kind: Uint8Array;
  /** Number value, or start offset of a string's bytes (Bytes). */
  readonly num: Float64Array;
  /** End offset of a string's bytes (Bytes), or 0/1 for Bool. */
  readonly end: Int32Array;
  private readonly keys: Uint8Array[];
  private readonly types: (ColumnType | 'object')[];
  private pos = 0;
  private bytes: Uint8Array = new Uint8Array(0);

  constructor(
    fields: readonly ScanField[],
    private readonly readObject?: ObjectReader,
  ) {
    this.keys = fields.map(([n]) => Buffer.from(n, 'utf8'));
    this.types = fields.map(([, t]) => t);
    this.kind = new Uint8Array(fields.length);
    this.num = new Float64Array(fields.length);
    this.end = new Int32Array(fields.length);
  }

  /** Scans one line; true when every wanted field was read exactly (results in kind/num/end). */
  scan(bytes: Uint8Array, start: number, end: number): boolean {
    const p = this.scanObject(bytes, start, end);
    return p >= 0 && this.skipWs(p, end) === end;
  }

  /** Scans the object starting at `start` (after optional whitespace); returns the offset after its closing brace,
   * or -1 when the object is not read exactly. */
  scanObject(bytes: Uint8Array, start: number, end: number): number {
    this.bytes = bytes;
    this.kind.fill(Slot.Missing);
    let p = this.skipWs(start, end);
    if (p >= end || bytes[p] !== OPEN) return -1;
    p = this.skipWs(p + 1, end);
    if (p < end && bytes[p] === CLOSE) return p + 1;
    for (;;) {
      if (p >= end || bytes[p] !== QUOTE) return -1;
      const keyStart = p + 1;
      let q = keyStart;
      while (q < end && bytes[q] !== QUOTE) {
        if (bytes[q] === BACKSLASH || bytes[q]! < 32) return -1;
        q++;
      }
      if (q >= end) return -1;
      const col = this.match(keyStart, q);
      p = this.skipWs(q + 1, end);
      if (p >= end || bytes[p] !== COLON) return -1;
      p = this.skipWs(p + 1, end);
      this.pos = p;
      if (!(col < 0 ? this.skipValue(end) : this.readValue(col, end))) return -1;
      p = this.skipWs(this.pos, end);
      if (p >= end) return -1;
      if (bytes[p] === COMMA) {
        p = this.skipWs(p + 1, end);
        continue;
      }
      return bytes[p] === CLOSE ? p + 1 : -1;
    }
  }

  private skipWs(p: number, end: number): number {
    while (p < end && isWs(this.bytes[p]!)) p++;
    return p;
  }

  private match(s: number, e: number): number {
    for (let c = 0; c < this.keys.length; c++) if (equalBytes(this.bytes, s, e, this.keys[c]!)) return c;
    return -1;
  }

  /** A JSON string without escapes or control characters; sets pos after the closing quote. */
  private stringEnd(end: number): number {
    const b = this.bytes;
    let q = this.pos + 1;
    while (q < end) {
      const c = b[q]!;
      if (c === QUOTE) return q;
      if (c === BACKSLASH || c < 32) return -1;
      q++;
    }
    return -1;
  }

  /** Strict JSON number grammar: -?(0|[1-9]d*)(.d+)?([eE][+-]?d+)?; returns the end offset or -1. */
  private numberEnd(end: number): number {
    const b = this.bytes;
    let q = this.pos;
    if (b[q] === MINUS) q++;
    if (q >= end) return -1;
    if (b[q] === 48) q++;
    else if (b[q]! >= 49 && b[q]! <= 57) while (q < end && b[q]! >= 48 && b[q]! <= 57) q++;
    else return -1;
    if (q < end && b[q] === 46) {
      q++;
      const d = q;
      while (q < end && b[q]! >= 48 && b[q]! <= 57) q++;
      if (q === d) return -1;
    }
    if (q < end && (b[q] === 101 || b[q] === 69)) {
      q++;
      if (q < end && (b[q] === 43 || b[q] === 45)) q++;
      const d = q;
      while (q < end && b[q]! >= 48 && b[q]! <= 57) q++;
      if (q === d) return -1;
    }
    return q;
  }

  private literal(word: string, end: number): boolean {
    const b = this.bytes;
    if (this.pos + word.length > end) return false;
    for (let i = 0; i < word.length; i++) if (b[this.pos + i] !== word.charCodeAt(i)) return false;
    this.pos += word.length;
    return true;
  }

  private readValue(col: number, end: number): boolean {
    const b = this.bytes;
    const c = b[this.pos]!;
    const type = this.types[col]!;
    if (type === 'object' && c === OPEN) {
      const start = this.pos;
      const q = this.readObject ? this.readObject(col, b, start, end) : -1;
      if (q < 0) return false;
      this.kind[col] = Slot.Object;
      this.num[col] = start;
      this.end[col] = q;
      this.pos = q;
      return true;
    }
    if (c === QUOTE) {
      if (type !== 'string' && type !== 'timestamp' && type !== 'date') return false;
      const q = this.stringEnd(end);
      if (q < 0) return false;
      this.kind[col] = Slot.Bytes;
      this.num[col] = this.pos + 1;
      this.end[col] = q;
      this.pos = q + 1;
      return true;
    }
    if (c === MINUS || (c >= 48 && c <= 57)) {
      if (type === 'string' || type === 'bool' || type === 'date' || type === 'object') return false;
      const q = this.numberEnd(end);
      if (q < 0) return false;
      // Up to 15 significant digits with an optional fraction and no exponent: m / 10^k with both exact doubles is
      // correctly rounded, i.e. exactly what JSON.parse returns (Clinger's fast path). Anything else: Number().
      let v = 0;
      let digits = 0;
      let frac = -1;
      let simple = true;
      const neg = c === MINUS;
      for (let i = neg ? this.pos + 1 : this.pos; simple && i < q; i++) {
        const d = b[i]! - 48;
        if (d >= 0 && d <= 9) {
          v = v * 10 + d;
          digits++;
          if (frac >= 0) frac++;
        } else if (d === -2 && frac < 0)
          frac = 0; // '.'
        else simple = false;
      }
      if (simple && digits <= 15) {
        if (frac > 0) v /= POW10[frac]!;
        if (neg) v = -v;
      } else {
        let s = '';
        for (let i = this.pos; i < q; i++) s += String.fromCharCode(b[i]!);
        v = Number(s);
      }
      this.kind[col] = Slot.Number;
      this.num[col] = v;
      this.pos = q;
      return true;
    }
    if (c === 110) {
      if (!this.literal('null', end)) return false;
      this.kind[col] = Slot.Null;
      return true;
    }
    if (c === 116 || c === 102) {
      if (type !== 'bool') return false;
      const t = c === 116;
      if (!this.literal(t ? 'true' : 'false', end)) return false;
      this.kind[col] = Slot.Bool;
      this.end[col] = t ? 1 : 0;
      return true;
    }
    return false; // objects and arrays in wanted fields: the JSON.parse path decides
  }

  /** Skips the value of an unwanted field, validating it with the full JSON grammar (nested containers
   * included, up to a depth limit), so a line is accepted here only if JSON.parse would accept it. */
  private skipValue(end: number, depth = 0): boolean {
    const b = this.bytes;
    const c = b[this.pos]!;
    if (c === QUOTE) {
      const q = this.stringEnd(end);
      if (q < 0) return false;
      this.pos = q + 1;
      return true;
    }
    if (c === MINUS || (c >= 48 && c <= 57)) {
      const q = this.numberEnd(end);
      if (q < 0) return false;
      this.pos = q;
      return true;
    }
    if (c === 110) return this.literal('null', end);
    if (c === 116) return this.literal('true', end);
    if (c === 102) return this.literal('false', end);
    if ((c !== OPEN && c !== OPEN_ARR) || depth > 32) return false;
    const close = c === OPEN ? CLOSE : CLOSE_ARR;
    let p = this.skipWs(this.pos + 1, end);
    if (p < end && b[p] === close) {
      this.pos = p + 1;
      return true;
    }
    for (;;) {
      if (c === OPEN) {
        if (p >= end || b[p] !== QUOTE) return false;
        this.pos = p;
        const q = this.stringEnd(end);
        if (q < 0) return false;
        p = this.skipWs(q + 1, end);
        if (p >= end || b[p] !== COLON) return false;
        p = this.skipWs(p + 1, end);
      }
      if (p >= end) return false;
      this.pos = p;
      if (!this.skipValue(end, depth + 1)) return false;
      p = this.skipWs(this.pos, end);
      if (p >= end) return false;
      if (b[p] === COMMA) {
        p = this.skipWs(p + 1, end);
        continue;
      }
      if (b[p] !== close) return false;
      this.pos = p + 1;
      return true;
    }
  }
}
