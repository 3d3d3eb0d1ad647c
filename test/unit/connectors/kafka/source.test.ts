/** The `kafka` source's per-partition event time (Flink's per-split watermarks), on an injected monotonic clock. */
import { describe, expect, it } from 'vitest';
import { PartitionWatermarks } from '../../../../connectors/kafka/source.js';

const parts = (...p: string[]) => new Set(p);

describe('PartitionWatermarks', () => {
  it('is the smallest partition watermark (newest − bound − 1), and none until every partition has a timestamp', () => {
    const w = new PartitionWatermarks(1_000, undefined, 0);
    w.saw('t:0', 10_000, 1);
    expect(w.current(parts('t:0', 't:1'), 2)).toBeUndefined();
    w.saw('t:1', 5_000, 3);
    expect(w.current(parts('t:0', 't:1'), 4)).toBe(3_999);
    w.saw('t:1', 4_000, 5); // older than its newest: no effect
    w.saw('t:1', 20_000, 6);
    expect(w.current(parts('t:0', 't:1'), 7)).toBe(8_999);
    expect(w.current(parts('t:1'), 7)).toBe(18_999); // a partition given to another member no longer counts
  });

  it('lets a partition quiet for idleTimeout and at its end stop holding event time back, and take part again when it sends', () => {
    const w = new PartitionWatermarks(0, 60_000, 0);
    w.saw('t:0', 100_000, 1_000);
    w.saw('t:1', 50_000, 1_000);
    expect(w.silent(parts('t:0', 't:1'), 60_999)).toEqual([]);
    expect(w.current(parts('t:0', 't:1'), 60_999)).toBe(49_999);
    w.saw('t:0', 200_000, 61_000);
    expect(w.silent(parts('t:0', 't:1'), 61_000)).toEqual(['t:1']);
    w.reachedEnd('t:1', 61_000);
    expect(w.silent(parts('t:0', 't:1'), 61_000)).toEqual([]);
    expect(w.current(parts('t:0', 't:1'), 61_000)).toBe(199_999); // t:1 idle since 1 000
    w.saw('t:1', 150_000, 62_000);
    expect(w.current(parts('t:0', 't:1'), 62_000)).toBe(149_999);
    w.reachedEnd('t:0', 200_000);
    w.reachedEnd('t:1', 200_000);
    expect(w.current(parts('t:0', 't:1'), 200_000)).toBeUndefined(); // all idle: no advance
  });

  it('keeps a quiet partition that is not known to be at its end (an unreachable broker, a starved fetch) holding event time', () => {
    const w = new PartitionWatermarks(0, 10_000, 0);
    w.saw('t:0', 100_000, 1_000);
    w.saw('t:1', 50_000, 1_000);
    w.reachedEnd('t:1', 500); // looked before its last message: says nothing about what came after
    w.saw('t:0', 300_000, 30_000);
    expect(w.silent(parts('t:0', 't:1'), 30_000)).toEqual(['t:1']);
    expect(w.current(parts('t:0', 't:1'), 30_000)).toBe(49_999);
    w.reachedEnd('t:1', 1_000);
    expect(w.current(parts('t:0', 't:1'), 30_000)).toBe(299_999);
  });

  it('counts a partition that never sent from the start of the read', () => {
    const w = new PartitionWatermarks(0, 10_000, 5_000);
    w.saw('t:0', 1_000, 5_001);
    w.reachedEnd('t:1', 5_000);
    expect(w.current(parts('t:0', 't:1'), 14_999)).toBeUndefined();
    expect(w.current(parts('t:0', 't:1'), 15_000)).toBe(999);
  });
});
