/**
 * `window_aggregate` through the harness users test their operators with: Flink's firing edge (end − 1), offsets,
 * sliding and session windows, count windows, allowed lateness, processing-time windows on a ManualClock, keyed
 * checkpoints, and the config errors a plan author sees.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../../engine/api.js';
import { operatorHarness } from '../../../../engine/testing.js';
import { windowAggregate } from '../../../../operators/windowed/window-aggregate.js';

const iso = (ms: number) => new Date(ms).toISOString();
const input = { k: 'string', ts: 'timestamp', v: 'float64' } as const;
const tumbling10s = { keyBy: ['k'], timeColumn: 'ts', window: { type: 'tumbling', size: '10s' }, aggregates: { n: 'count()', s: 'sum(v)' } };
const windowOf = (r: Record<string, unknown>) => [r.k, r.window_start, r.window_end, r.window_time, r.n];

describe('window_aggregate', () => {
  it('fires a tumbling window when the watermark reaches end − 1, once, per key', async () => {
    const h = operatorHarness(windowAggregate, tumbling10s, input);
    await h.push([
      { k: 'a', ts: 1_000, v: 1 },
      { k: 'b', ts: 2_000, v: 5 },
      { k: 'a', ts: 9_999, v: 2 },
      { k: 'a', ts: 10_000, v: 4 },
    ]);
    await h.watermark(9_998);
    expect(h.rows()).toEqual([]);
    await h.watermark(9_999);
    expect(h.rows()).toEqual([
      { k: 'a', window_start: iso(0), window_end: iso(10_000), window_time: iso(9_999), n: 2, s: 3 },
      { k: 'b', window_start: iso(0), window_end: iso(10_000), window_time: iso(9_999), n: 1, s: 5 },
    ]);
    await h.watermark(15_000);
    expect(h.rows()).toHaveLength(2);
    await h.close();
    expect(h.rows().map(windowOf).at(-1)).toEqual(['a', iso(10_000), iso(20_000), iso(19_999), 1]);
  });

  it('shifts tumbling windows by their offset', async () => {
    const h = operatorHarness(windowAggregate, { ...tumbling10s, window: { type: 'tumbling', size: '10s', offset: '3s' } }, input);
    await h.push([
      { k: 'a', ts: 2_000, v: 1 },
      { k: 'a', ts: 3_000, v: 1 },
    ]);
    await h.close();
    expect(h.rows().map(windowOf)).toEqual([
      ['a', iso(-7_000), iso(3_000), iso(2_999), 1],
      ['a', iso(3_000), iso(13_000), iso(12_999), 1],
    ]);
  });

  it('puts a row in every sliding window that covers it', async () => {
    const h = operatorHarness(windowAggregate, { ...tumbling10s, window: { type: 'sliding', size: '10s', slide: '5s' } }, input);
    await h.push([{ k: 'a', ts: 7_000, v: 1 }]);
    await h.watermark(9_999);
    expect(h.rows().map(windowOf)).toEqual([['a', iso(0), iso(10_000), iso(9_999), 1]]);
    await h.close();
    expect(h.rows().map(windowOf)).toEqual([
      ['a', iso(0), iso(10_000), iso(9_999), 1],
      ['a', iso(5_000), iso(15_000), iso(14_999), 1],
    ]);
  });

  it('merges sessions that overlap or touch, and keeps apart those a gap separates', async () => {
    const h = operatorHarness(windowAggregate, { ...tumbling10s, window: { type: 'session', gap: '5s' } }, input);
    await h.push([
      { k: 'a', ts: 0, v: 1 },
      { k: 'a', ts: 10_000, v: 1 },
      { k: 'a', ts: 5_000, v: 1 }, // [5000, 10000) touches both: one session [0, 15000)
      { k: 'a', ts: 20_001, v: 1 },
    ]);
    await h.watermark(14_999);
    expect(h.rows().map(windowOf)).toEqual([['a', iso(0), iso(15_000), iso(14_999), 3]]);
    await h.close();
    expect(h.rows().map(windowOf).at(-1)).toEqual(['a', iso(20_001), iso(25_001), iso(25_000), 1]);
  });

  it('lets a late row within allowedLateness fire its window again, marked late; later ones go to `late`', async () => {
    const h = operatorHarness(windowAggregate, { ...tumbling10s, allowedLateness: '2s' }, input);
    await h.push([{ k: 'a', ts: 1_000, v: 1 }]);
    await h.watermark(9_999);
    await h.push([{ k: 'a', ts: 2_000, v: 1 }]);
    expect(h.rows().map((r) => [r.n, r.firing])).toEqual([
      [1, 'on_time'],
      [2, 'late'],
    ]);
    await h.watermark(11_999); // cleanup time: end − 1 + lateness
    await h.push([{ k: 'a', ts: 3_000, v: 1 }]);
    expect(h.rows()).toHaveLength(2);
    expect(h.rows('late')).toEqual([{ k: 'a', ts: iso(3_000), v: 1 }]);
  });

  it('sends a row without event time to dead letters and still counts the others', async () => {
    const h = operatorHarness(windowAggregate, tumbling10s, input);
    await h.push([
      { k: 'a', ts: null, v: 1 },
      { k: 'a', ts: 1_000, v: 2 },
    ]);
    await h.close();
    expect(h.deadLetters).toEqual([{ reason: 'no event time: `ts` is null', row: { k: 'a', ts: null, v: 1 } }]);
    expect(h.rows().map((r) => r.s)).toEqual([2]);
  });

  it('fires a count window every `size` rows of a key, spanning their times', async () => {
    const h = operatorHarness(windowAggregate, { keyBy: ['k'], timeColumn: 'ts', window: { type: 'count', size: 2 }, aggregates: { n: 'count()' } }, input);
    await h.push([
      { k: 'a', ts: 5_000, v: 1 },
      { k: 'b', ts: 1_000, v: 1 },
      { k: 'a', ts: 3_000, v: 1 },
      { k: 'a', ts: 9_000, v: 1 },
    ]);
    expect(h.rows().map(windowOf)).toEqual([['a', iso(3_000), iso(5_001), iso(5_000), 2]]);
    const restored = h.restored(h.snapshot()!);
    await restored.push([{ k: 'b', ts: 2_000, v: 1 }]);
    expect(restored.rows().map(windowOf)).toEqual([['b', iso(1_000), iso(2_001), iso(2_000), 2]]);
  });

  it('fires processing-time windows from the clock, and the open ones at close', async () => {
    const clock = new ManualClock(100_000);
    const h = operatorHarness(windowAggregate, { keyBy: ['k'], window: { type: 'tumbling', size: '10s' }, aggregates: { n: 'count()' } }, input, { clock });
    await h.push([{ k: 'a', ts: null, v: 1 }]);
    clock.advance(9_000);
    await h.push([{ k: 'a', ts: null, v: 1 }]);
    await h.tick(109_999);
    expect(h.rows()).toEqual([]);
    await h.tick(110_000);
    expect(h.rows().map(windowOf)).toEqual([['a', iso(100_000), iso(110_000), iso(109_999), 2]]);
    clock.advance(1_000);
    await h.push([{ k: 'a', ts: null, v: 1 }]);
    await h.close();
    expect(h.rows().map(windowOf).at(-1)).toEqual(['a', iso(110_000), iso(120_000), iso(119_999), 1]);
    expect(h.deadLetters).toEqual([]);
  });

  it('restores open windows and the watermark from a snapshot', async () => {
    const h = operatorHarness(windowAggregate, { ...tumbling10s, aggregates: { p: 'median(v)', d: 'count_distinct(v)' } }, input);
    await h.push([
      { k: 'a', ts: 1_000, v: 1 },
      { k: 'a', ts: 2_000, v: 3 },
    ]);
    await h.watermark(500);
    const restored = h.restored(h.snapshot()!);
    await restored.push([
      { k: 'a', ts: 3_000, v: 3 },
      { k: 'a', ts: 400, v: 9 }, // before the watermark, but its window [0, 10000) is still open
    ]);
    await restored.watermark(9_999);
    expect(restored.rows().map((r) => [r.p, r.d])).toEqual([[3, 3]]);
    expect(h.rows()).toEqual([]);
  });

  it('names the mistake in a config', () => {
    const make =
      (cfg: object, schema: object = input) =>
      () =>
        operatorHarness(windowAggregate, cfg, schema as never);
    expect(make({ ...tumbling10s, window: { type: 'session', gap: '1s' }, timeColumn: undefined })).toThrow(/session windows need a `timeColumn`/);
    expect(make({ ...tumbling10s, aggregates: {} })).toThrow(/at least one aggregate/);
    expect(make({ ...tumbling10s, aggregates: { k: 'count()' } })).toThrow(/`k` is already a key or window column/);
    expect(make({ ...tumbling10s, aggregates: { window_end: 'count()' } })).toThrow(/already a key or window column/);
    expect(make({ ...tumbling10s, timeColumn: 'v' })).toThrow(/time column `v` is not a timestamp/);
    expect(make({ ...tumbling10s, keyBy: ['nope'] })).toThrow(/nope/);
    expect(make({ ...tumbling10s, window: { type: 'sliding', size: '10s', slide: '0s' } })).toThrow(/slide/);
  });

  it('adds a `firing` column only when late firings can happen', () => {
    expect(operatorHarness(windowAggregate, tumbling10s, input).outputs.out!.fields.map((f) => f.name)).toEqual([
      'k',
      'window_start',
      'window_end',
      'window_time',
      'n',
      's',
    ]);
    expect(operatorHarness(windowAggregate, { ...tumbling10s, allowedLateness: '1s' }, input).outputs.out!.fields.map((f) => f.name)).toContain('firing');
  });
});
