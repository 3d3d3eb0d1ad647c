/**
 * `window_join` through the operator harness: inner and semi joins within a tumbling window, the watermark edge,
 * late rows per side, rows without event time, renamed right columns and checkpoints.
 */
import { describe, expect, it } from 'vitest';
import { operatorHarness } from '../../../../engine/testing.js';
import { windowJoin } from '../../../../operators/windowed/window-join.js';

const iso = (ms: number) => new Date(ms).toISOString();
const people = { id: 'int64', name: 'string', t: 'timestamp' } as const;
const auctions = { seller: 'int64', name: 'string', at: 'timestamp' } as const;
const cfg = (type: 'inner' | 'semi') => ({
  window: { type: 'tumbling', size: '10s' },
  left: { key: ['id'], timeColumn: 't' },
  right: { key: ['seller'], timeColumn: 'at' },
  type,
});

describe('window_join', () => {
  it('inner: emits every matching pair of the same window once the watermark reaches end − 1', async () => {
    const h = operatorHarness(windowJoin, cfg('inner'), [people, auctions]);
    expect(h.outputs.out!.fields.map((f) => f.name)).toEqual(['id', 'name', 't', 'seller', 'right_name', 'at', 'window_start', 'window_end']);
    await h.push([
      { id: 1, name: 'ann', t: 1_000 },
      { id: 2, name: 'bob', t: 2_000 },
    ]);
    await h.push(
      [
        { seller: 1, name: 'lamp', at: 3_000 },
        { seller: 1, name: 'vase', at: 9_999 },
        { seller: 1, name: 'next window', at: 10_000 },
        { seller: 3, name: 'nobody', at: 4_000 },
      ],
      1,
    );
    await h.watermark(9_998);
    expect(h.rows()).toEqual([]);
    await h.watermark(9_999);
    expect(h.rows().map((r) => [r.id, r.right_name, r.window_start, r.window_end])).toEqual([
      [1, 'lamp', iso(0), iso(10_000)],
      [1, 'vase', iso(0), iso(10_000)],
    ]);
    await h.close();
    expect(h.rows()).toHaveLength(2);
  });

  it('semi: emits each left row once when its window holds a match', async () => {
    const h = operatorHarness(windowJoin, cfg('semi'), [people, auctions]);
    expect(h.outputs.out!.fields.map((f) => f.name)).toEqual(['id', 'name', 't', 'window_start', 'window_end']);
    await h.push([
      { id: 1, name: 'ann', t: 1_000 },
      { id: 2, name: 'bob', t: 2_000 },
    ]);
    await h.push(
      [
        { seller: 1, name: 'lamp', at: 3_000 },
        { seller: 1, name: 'vase', at: 4_000 },
        { seller: 2, name: 'later', at: 12_000 },
      ],
      1,
    );
    await h.close();
    expect(h.rows()).toEqual([{ id: 1, name: 'ann', t: iso(1_000), window_start: iso(0), window_end: iso(10_000) }]);
  });

  it('sends rows of a joined window to the late port of their side, and rows without time to dead letters', async () => {
    const h = operatorHarness(windowJoin, cfg('inner'), [people, auctions]);
    await h.watermark(9_999);
    await h.push([
      { id: 1, name: 'late', t: 9_999 },
      { id: 1, name: 'timeless', t: null },
    ]);
    await h.push([{ seller: 1, name: 'late too', at: 5_000 }], 1);
    expect(h.rows('late_left').map((r) => r.name)).toEqual(['late']);
    expect(h.rows('late_right').map((r) => r.name)).toEqual(['late too']);
    expect(h.deadLetters).toEqual([{ reason: 'no event time: `t` is null', row: { id: 1, name: 'timeless', t: null } }]);
    await h.push([{ seller: 1, name: 'x', at: null }], 1);
    expect(h.deadLetters.at(-1)!.reason).toBe('no event time: `at` is null');
  });

  it('keeps open windows and the watermark across a checkpoint', async () => {
    const h = operatorHarness(windowJoin, cfg('inner'), [people, auctions]);
    await h.push([{ id: 7, name: 'ann', t: 21_000 }]);
    await h.watermark(15_000);
    const r = h.restored(h.snapshot()!);
    await r.push([{ seller: 7, name: 'lamp', at: 22_000 }], 1);
    await r.push([{ seller: 7, name: 'too late', at: 5_000 }], 1);
    await r.watermark(29_999);
    expect(r.rows().map((x) => [x.name, x.right_name])).toEqual([['ann', 'lamp']]);
    expect(r.rows('late_right').map((x) => x.name)).toEqual(['too late']);
  });

  it('refuses keys of different types and time columns that are not timestamps', () => {
    expect(() => operatorHarness(windowJoin, cfg('inner'), [people, { ...auctions, seller: 'string' }])).toThrow(
      /join keys differ in type: \(int64\) vs \(string\)/,
    );
    expect(() => operatorHarness(windowJoin, cfg('inner'), [{ ...people, t: 'int64' }, auctions])).toThrow(/`t` is not a timestamp/);
    expect(() => operatorHarness(windowJoin, cfg('inner'), [people, { ...auctions, at: 'string' }])).toThrow(/`at` is not a timestamp/);
    expect(() => operatorHarness(windowJoin, { ...cfg('inner'), left: { key: ['id', 'name'], timeColumn: 't' } }, [people, auctions])).toThrow(
      /join keys differ/,
    );
  });
});
