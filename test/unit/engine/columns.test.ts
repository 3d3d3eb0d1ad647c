/**
 * Column readers on sliced batches. Arrow JS slices value and offset buffers with the data but not validity or bool
 * bits; a custom operator may hand the engine `batch.slice(...)`, and every reader must see the slice's rows.
 */
import { describe, expect, it } from 'vitest';
import { batchFromRows, keyReader, rowObject, schemaOf } from '../../../engine/api.js';
import { cellValue, columnData, concatBatches, numbersOf, stringsOf, takeBatch } from '../../../engine/arrow/columns.js';

const schema = schemaOf({ s: 'string', i: 'int64', f: 'float64', b: 'bool', n: 'int32', ts: 'timestamp', d: 'date' });
const rows = Array.from({ length: 40 }, (_, k) => ({
  s: k % 5 === 0 ? null : `s${k}`,
  i: BigInt(k) * 3n,
  f: k / 2,
  b: k % 3 === 0,
  n: k % 4 ? k : null,
  ts: Date.UTC(2024, 0, 1) + k * 1000,
  d: 19_000 + k,
}));
const whole = batchFromRows(schema, rows);

describe('sliced batches', () => {
  it('rowObject, numbersOf and stringsOf read the slice, not the parent', () => {
    const slice = whole.slice(11, 29);
    const plain = batchFromRows(schema, rows.slice(11, 29));
    for (let r = 0; r < slice.numRows; r++) expect(rowObject(slice, r)).toEqual(rowObject(plain, r));
    for (const c of [1, 2, 3, 4, 5, 6]) expect(numbersOf(columnData(slice, c))).toEqual(numbersOf(columnData(plain, c)));
    expect(stringsOf(columnData(slice, 0))).toEqual(stringsOf(columnData(plain, 0)));
  });

  it('keyReader gives every column type the text of its value on slices: nulls, int64 beyond 2^53, repeated timestamps', () => {
    const big = schemaOf({ i: 'int64', ts: 'timestamp' });
    const values = [null, 0n, -7n, 2n ** 53n + 1n, -(2n ** 60n), 9_007_199_254_740_991n];
    const t0 = Date.UTC(2024, 0, 1);
    const b = batchFromRows(
      big,
      values.map((i, k) => ({ i, ts: k === 1 ? null : t0 + Math.floor(k / 2) * 60_000 })),
    );
    const expected = (batch: typeof b, c: number, r: number) => {
      const v = cellValue(columnData(batch, c), r);
      return v === null ? '\u0000' : String(v);
    };
    for (const batch of [b, b.slice(1, 5)]) {
      for (const c of [0, 1]) {
        const key = keyReader([columnData(batch, c)]);
        expect(Array.from({ length: batch.numRows }, (_, r) => key(r))).toEqual(Array.from({ length: batch.numRows }, (_, r) => expected(batch, c, r)));
      }
    }
    expect(keyReader([columnData(b, 0)])(3)).toBe('9007199254740993');
    expect(keyReader([columnData(b, 1)])(2)).toBe('2024-01-01T00:01:00.000Z');
    const both = keyReader([columnData(whole, 0), columnData(whole, 1), columnData(whole, 5), columnData(whole, 6)]);
    expect(both(5)).toBe(['\u0000', '15', '2024-01-01T00:00:05.000Z', String(cellValue(columnData(whole, 6), 5))].join('\u0001'));
  });

  it('takeBatch and concatBatches copy the right rows out of slices', () => {
    const slice = whole.slice(7, 33);
    const picked = takeBatch(slice, Int32Array.from([0, 5, 9, 25]));
    expect([0, 1, 2, 3].map((r) => rowObject(picked, r))).toEqual([7, 12, 16, 32].map((k) => rowObject(whole, k)));
    // Runs of consecutive rows (copied as ranges), single rows, and nulls inside runs.
    const runs = Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 20, 21, 0, 22, 23, 24, 25]);
    for (const picks of [runs, Int32Array.from({ length: 25 }, (_, k) => k)]) {
      const taken = takeBatch(slice, picks);
      expect(Array.from(picks, (_, r) => rowObject(taken, r))).toEqual(Array.from(picks, (k) => rowObject(whole, k + 7)));
    }
    const joined = concatBatches(schema, [whole.slice(3, 9), whole.slice(20, 22)]);
    expect(Array.from({ length: joined.numRows }, (_, r) => rowObject(joined, r))).toEqual([3, 4, 5, 6, 7, 8, 20, 21].map((k) => rowObject(whole, k)));
  });
});
