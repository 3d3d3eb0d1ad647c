/**
 * Flink's WindowOperator semantics on the golden vectors of shared/spec/event-time.md §7.10, with a count
 * accumulator. B = 4000 ms; the watermark is emitted after every element (W = maxTs − 4001).
 */
import { describe, expect, it } from 'vitest';
import { BoundedOutOfOrderness } from '../../../../engine/time/watermark.js';
import { type Fired, KeyedWindows, type WindowSpec } from '../../../../operators/windowed/window-core.js';

const count = { create: () => 0, add: (a: number) => a + 1, merge: (a: number, b: number) => a + b };

function run(spec: WindowSpec, lateness: number, timestamps: number[]) {
  const w = new KeyedWindows(spec, lateness, count);
  const g = new BoundedOutOfOrderness(4_000);
  const fired: (Omit<Fired<number>, 'key'> & { after: number })[] = [];
  const late: number[] = [];
  for (const ts of timestamps) {
    const out: Fired<number>[] = [];
    if (!w.add('k', ts, 0, out)) late.push(ts);
    g.onEvent(ts);
    w.advance(g.current(), out);
    fired.push(...out.map(({ start, end, acc, firing }) => ({ start, end, acc, firing, after: ts })));
  }
  return { fired, late, w };
}

describe('KeyedWindows (Flink WindowOperator)', () => {
  it('vector 1: tumbling 10 s fires [0,10000) with count 2 after ts 14000; a later ts 5000 is late', () => {
    const { fired, late } = run({ type: 'tumbling', sizeMs: 10_000, offsetMs: 0 }, 0, [1_000, 9_999, 10_000, 13_999, 14_000, 5_000]);
    expect(fired).toEqual([{ start: 0, end: 10_000, acc: 2, firing: 'on_time', after: 14_000 }]);
    expect(late).toEqual([5_000]);
  });

  it('vector 2: with 2 s allowed lateness ts 5000 fires the window again at once (count 3), until cleanup', () => {
    const { fired, late } = run({ type: 'tumbling', sizeMs: 10_000, offsetMs: 0 }, 2_000, [1_000, 9_999, 10_000, 13_999, 14_000, 5_000, 16_000, 5_000]);
    expect(fired).toEqual([
      { start: 0, end: 10_000, acc: 2, firing: 'on_time', after: 14_000 },
      { start: 0, end: 10_000, acc: 3, firing: 'late', after: 5_000 },
    ]);
    // ts 16000 moves W to 11999 = cleanup time: the window is gone and the second ts 5000 is side-output.
    expect(late).toEqual([5_000]);
  });

  it('vector 4: session gap 10 s merges touching sessions and fires the first when W >= 19999', () => {
    const { fired } = run({ type: 'session', gapMs: 10_000 }, 0, [0, 10_000, 23_999, 24_000, 25_000]);
    expect(fired).toEqual([{ start: 0, end: 20_000, acc: 2, firing: 'on_time', after: 24_000 }]);
  });

  it('vector 5: sliding 10 s / 5 s at W = 12000: ts 9000 is late for [0,10000) but on time for [5000,15000)', () => {
    const w = new KeyedWindows({ type: 'sliding', sizeMs: 10_000, slideMs: 5_000, offsetMs: 0 }, 0, count);
    const out: Fired<number>[] = [];
    w.advance(12_000, out);
    expect(w.add('k', 9_000, 0, out)).toBe(true); // not side-output
    expect(out).toEqual([]);
    w.advance(14_999, out);
    expect(out).toEqual([{ key: 'k', start: 5_000, end: 15_000, acc: 1, firing: 'on_time' }]);
    expect(w.add('k', 9_000, 0, out)).toBe(false); // at W = 14999 both windows are late: side output
  });

  it('a merged session keeps its lateness: the timers of the sessions it absorbed neither fire nor clean it up', () => {
    const w = new KeyedWindows({ type: 'session', gapMs: 10_000 }, 5_000, count);
    const out: Fired<number>[] = [];
    w.add('k', 0, 0, out); // [0, 10000): fire at 9999, cleanup at 14999
    w.add('k', 5_000, 0, out); // merged [0, 15000): fire at 14999, cleanup at 19999
    w.advance(14_999, out);
    expect(w.add('k', 3_000, 0, out)).toBe(true);
    w.advance(19_998, out);
    expect(w.add('k', 4_000, 0, out)).toBe(true);
    w.advance(19_999, out);
    expect(w.add('k', 1_000, 0, out)).toBe(false);
    expect(out.map(({ start, end, acc, firing }) => [start, end, acc, firing])).toEqual([
      [0, 15_000, 2, 'on_time'],
      [0, 15_000, 3, 'late'],
      [0, 15_000, 4, 'late'],
    ]);
    expect(w.keyCount).toBe(0);
  });

  it('sliding windows fire in order of their end, each window with its keys in the order they opened it', () => {
    const w = new KeyedWindows({ type: 'sliding', sizeMs: 4_000, slideMs: 2_000, offsetMs: 0 }, 0, count);
    const out: Fired<number>[] = [];
    for (const [key, ts] of [
      ['b', 3_000],
      ['a', 1_000],
      ['a', 4_500],
    ] as const)
      w.add(key, ts, 0, out);
    expect(w.keyCount).toBe(6); // b: [0,4000) [2000,6000); a: [-2000,2000) [0,4000) [2000,6000) [4000,8000)
    w.advance(5_999, out);
    expect(out.map(({ key, start, acc }) => [key, start, acc])).toEqual([
      ['a', -2_000, 1],
      ['b', 0, 1],
      ['a', 0, 1],
      ['b', 2_000, 1],
      ['a', 2_000, 1],
    ]);
    expect(w.keyCount).toBe(1);
  });

  it('keeps keys apart and cleans their state up after firing', () => {
    const w = new KeyedWindows({ type: 'tumbling', sizeMs: 1_000, offsetMs: 0 }, 0, count);
    const out: Fired<number>[] = [];
    for (let i = 0; i < 100; i++) w.add(`k${i % 10}`, i * 10, i, out);
    expect(w.keyCount).toBe(10);
    w.advance(999, out);
    expect(out.map((f) => f.acc)).toEqual(new Array(10).fill(10));
    expect(w.keyCount).toBe(0);
  });
});
