/**
 * `window_top_n` through the operator harness: top n per key and window, ascending, ties kept or cut, windows
 * given by an upstream aggregate, nulls never ranked, late rows and checkpoints.
 */
import { describe, expect, it } from 'vitest';
import { operatorHarness } from '../../../../engine/testing.js';
import { windowTopN } from '../../../../operators/windowed/window-top-n.js';

const iso = (ms: number) => new Date(ms).toISOString();
const bids = { auction: 'int64', price: 'int64', t: 'timestamp' } as const;
const rows = (ps: [number, number, number][]) => ps.map(([auction, price, t]) => ({ auction, price, t }));

describe('window_top_n', () => {
  it('keeps the highest price per tumbling window, with ties, once the watermark reaches end − 1', async () => {
    const h = operatorHarness(windowTopN, { timeColumn: 't', window: { type: 'tumbling', size: '10s' }, orderBy: 'price' }, bids);
    await h.push(
      rows([
        [1, 5, 1_000],
        [2, 9, 2_000],
        [3, 9, 3_000],
        [4, 7, 4_000],
        [5, 100, 10_000],
      ]),
    );
    await h.watermark(9_998);
    expect(h.rows()).toEqual([]);
    await h.watermark(9_999);
    expect(h.rows().map((r) => [r.auction, r.price, r.window_start, r.window_end])).toEqual([
      [2, 9, iso(0), iso(10_000)],
      [3, 9, iso(0), iso(10_000)],
    ]);
  });

  it('without ties keeps exactly `limit` rows, the first to arrive winning a tie; ascending keeps the lowest', async () => {
    const top2 = operatorHarness(windowTopN, { timeColumn: 't', window: { type: 'tumbling', size: '10s' }, orderBy: 'price', limit: 2, withTies: false }, bids);
    await top2.push(
      rows([
        [1, 5, 1_000],
        [2, 9, 2_000],
        [3, 5, 3_000],
        [4, 9, 4_000],
        [5, 1, 5_000],
      ]),
    );
    await top2.close();
    expect(top2.rows().map((r) => r.auction)).toEqual([2, 4]);
    const low = operatorHarness(
      windowTopN,
      { timeColumn: 't', window: { type: 'tumbling', size: '10s' }, orderBy: 'price', descending: false, limit: 2 },
      bids,
    );
    await low.push(
      rows([
        [1, 5, 1_000],
        [2, 9, 2_000],
        [3, 5, 3_000],
        [4, 1, 4_000],
        [5, 5, 5_000],
      ]),
    );
    await low.close();
    expect(low.rows().map((r) => [r.auction, r.price])).toEqual([
      [4, 1],
      [1, 5],
      [3, 5],
      [5, 5],
    ]);
  });

  it('ranks per key in every sliding window a row falls in', async () => {
    const h = operatorHarness(
      windowTopN,
      { keyBy: ['auction'], timeColumn: 't', window: { type: 'sliding', size: '10s', slide: '5s' }, orderBy: 'price', withTies: false },
      bids,
    );
    await h.push(
      rows([
        [1, 5, 6_000],
        [1, 8, 12_000],
        [2, 3, 7_000],
      ]),
    );
    await h.close();
    // Groups firing at the same watermark come out in no promised order.
    expect(
      h
        .rows()
        .map((r) => `${String(r.window_start)} ${String(r.auction)}:${String(r.price)}`)
        .sort(),
    ).toEqual([`${iso(0)} 1:5`, `${iso(0)} 2:3`, `${iso(5_000)} 1:8`, `${iso(5_000)} 2:3`, `${iso(10_000)} 1:8`]);
  });

  it('groups rows by their time when there is no window (the window_time of an aggregate upstream)', async () => {
    const counts = { window_time: 'timestamp', auction: 'int64', num: 'int64' } as const;
    const h = operatorHarness(windowTopN, { timeColumn: 'window_time', orderBy: 'num' }, counts);
    expect(h.outputs.out!.fields.map((f) => f.name)).toEqual(['window_time', 'auction', 'num']);
    await h.push([
      { window_time: 9_999, auction: 1, num: 3 },
      { window_time: 9_999, auction: 2, num: 4 },
      { window_time: 19_999, auction: 1, num: 1 },
      { window_time: 9_999, auction: 3, num: null },
    ]);
    await h.watermark(9_999);
    expect(h.rows()).toEqual([{ window_time: iso(9_999), auction: 2, num: 4 }]);
  });

  it('sends rows of an emitted window to `late` and rows without time to dead letters; restores open groups', async () => {
    const h = operatorHarness(windowTopN, { timeColumn: 't', window: { type: 'tumbling', size: '10s' }, orderBy: 'price' }, bids);
    await h.push(rows([[1, 5, 11_000]]));
    await h.watermark(9_999);
    await h.push([...rows([[2, 50, 9_000]]), { auction: 3, price: 1, t: null }]);
    expect(h.rows('late').map((r) => r.auction)).toEqual([2]);
    expect(h.deadLetters).toEqual([{ reason: 'no event time: `t` is null', row: { auction: 3, price: 1, t: null } }]);
    const r = h.restored(h.snapshot()!);
    await r.push(
      rows([
        [4, 7, 12_000],
        [5, 1, 1_000],
      ]),
    );
    await r.close();
    expect(r.rows().map((x) => x.auction)).toEqual([4]);
    expect(r.rows('late').map((x) => x.auction)).toEqual([5]);
  });

  it('names a bad time column and refuses to add window columns the input has', () => {
    expect(() => operatorHarness(windowTopN, { timeColumn: 'price', orderBy: 'price' }, bids)).toThrow(/`price` is not a timestamp/);
    expect(() =>
      operatorHarness(windowTopN, { timeColumn: 't', orderBy: 'price', window: { type: 'tumbling', size: '1s' } }, { ...bids, window_end: 'timestamp' }),
    ).toThrow(/already has a `window_end` column/);
    expect(() => operatorHarness(windowTopN, { timeColumn: 't', orderBy: 'nope' }, bids)).toThrow(/nope/);
  });
});
