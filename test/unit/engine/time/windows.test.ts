/**
 * Window assignment and watermarks: the golden vectors of shared/spec/event-time.md §7.10, and timestamps before
 * the epoch and the offset.
 *
 *   -20000      -10000        0         10000       20000     (ms)
 *     |-----------|-----------|-----------|-----------|       tumbling 10 s windows, [start, end)
 *                ^-1 → [-10000, 0)    ^9999 → [0, 10000)
 */
import { describe, expect, it } from 'vitest';
import { BoundedOutOfOrderness, combineWatermarks, IdlenessTimer, MIN_WATERMARK } from '../../../../engine/time/watermark.js';
import { cleanupTime, isWindowLate, mergeSessions, slidingWindowStarts, windowStart } from '../../../../engine/time/windows.js';

describe('window assignment', () => {
  it('aligns tumbling windows with floor modulo, before the epoch too', () => {
    expect(windowStart(0, 10_000)).toBe(0);
    expect(windowStart(9_999, 10_000)).toBe(0);
    expect(windowStart(10_000, 10_000)).toBe(10_000);
    expect(windowStart(-1, 10_000)).toBe(-10_000);
    expect(windowStart(-10_000, 10_000)).toBe(-10_000);
    expect(windowStart(-10_001, 10_000)).toBe(-20_000);
  });

  it('applies offsets (e.g. −8 h for UTC+8 days), before the offset too', () => {
    const day = 86_400_000;
    const eightHours = 8 * 3_600_000;
    expect(windowStart(0, day, -eightHours)).toBe(-eightHours);
    expect(windowStart(-eightHours - 1, day, -eightHours)).toBe(-eightHours - day);
    expect(windowStart(15_000, 10_000, 3_000)).toBe(13_000);
    expect(windowStart(2_999, 10_000, 3_000)).toBe(-7_000);
  });

  it('§7.10 vector 3: sliding 10 s / 2 s puts ts 12345 in five windows', () => {
    expect(slidingWindowStarts(12_345, 10_000, 2_000)).toEqual([12_000, 10_000, 8_000, 6_000, 4_000]);
  });

  it('puts negative timestamps in sliding windows', () => {
    expect(slidingWindowStarts(-1, 10_000, 5_000)).toEqual([-5_000, -10_000]);
  });

  it('merges touching sessions (§7.10 vector 4)', () => {
    expect(
      mergeSessions([
        { start: 0, end: 10_000 },
        { start: 10_000, end: 20_000 },
        { start: 25_000, end: 35_000 },
      ]),
    ).toEqual([
      { start: 0, end: 20_000 },
      { start: 25_000, end: 35_000 },
    ]);
  });

  it('computes cleanup time and window lateness with <= (§7.6)', () => {
    expect(cleanupTime(10_000, 0)).toBe(9_999);
    expect(cleanupTime(10_000, 2_000)).toBe(11_999);
    expect(isWindowLate(10_000, 0, 9_998)).toBe(false);
    expect(isWindowLate(10_000, 0, 9_999)).toBe(true);
  });
});

describe('watermarks', () => {
  it('§7.10 vector 1: bounded out-of-orderness 4 s gives W = maxTs − B − 1', () => {
    const g = new BoundedOutOfOrderness(4_000);
    expect(g.current()).toBe(MIN_WATERMARK);
    const seen = [1_000, 9_999, 10_000, 13_999, 14_000].map((ts) => {
      g.onEvent(ts);
      return g.current();
    });
    expect(seen).toEqual([-3_001, 5_998, 5_999, 9_998, 9_999]);
    g.onEvent(5_000); // out of order: the watermark never goes back
    expect(g.current()).toBe(9_999);
  });

  it('§7.10 vector 6: the minimum over non-idle inputs; all idle does not advance', () => {
    expect(
      combineWatermarks([
        { ms: 5_000, idle: true },
        { ms: 1_000, idle: false },
      ]),
    ).toEqual({ ms: 1_000, idle: false });
    expect(
      combineWatermarks([
        { ms: 5_000, idle: false },
        { ms: 1_000, idle: false },
      ]),
    ).toEqual({ ms: 1_000, idle: false });
    expect(
      combineWatermarks([
        { ms: 5_000, idle: true },
        { ms: 1_000, idle: true },
      ]).idle,
    ).toBe(true);
  });

  it('marks an input idle only after more than the timeout without events, checked periodically', () => {
    const t = new IdlenessTimer(30_000, 0);
    t.activity(1_000);
    expect(t.checkIfIdle(1_200)).toBe(false);
    expect(t.checkIfIdle(31_000)).toBe(false);
    expect(t.checkIfIdle(31_201)).toBe(true);
    t.activity(40_000);
    expect(t.checkIfIdle(40_200)).toBe(false);
  });
});
