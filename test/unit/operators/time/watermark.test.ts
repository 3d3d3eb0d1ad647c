/**
 * `watermark` through the operator harness: W = maxTs − maxOutOfOrderness − 1 per batch (the runtime keeps the
 * running maximum), rows without event time dead-lettered, and the column checks a plan author sees.
 */
import { describe, expect, it } from 'vitest';
import { operatorHarness } from '../../../../engine/testing.js';
import { watermark } from '../../../../operators/time/watermark.js';

const input = { id: 'int64', ts: 'timestamp' } as const;

describe('watermark', () => {
  it('emits maxTs − maxOutOfOrderness − 1 for each batch', async () => {
    const h = operatorHarness(watermark, { column: 'ts', maxOutOfOrderness: '4s' }, input);
    await h.push([
      { id: 1, ts: 10_000 },
      { id: 2, ts: 14_000 },
      { id: 3, ts: 12_000 },
    ]);
    await h.push([{ id: 4, ts: null }]);
    await h.push([{ id: 5, ts: 11_000 }]);
    expect(h.watermarks).toEqual([9_999, 6_999]);
    const inOrder = operatorHarness(watermark, { column: 'ts' }, input);
    await inOrder.push([{ id: 1, ts: 5 }]);
    expect(inOrder.watermarks).toEqual([4]);
  });

  it('passes rows through unchanged and sends rows without event time to dead letters', async () => {
    const h = operatorHarness(watermark, { column: 'ts', maxOutOfOrderness: '1s' }, input);
    await h.push([
      { id: 1, ts: 2_000 },
      { id: 2, ts: null },
      { id: 3, ts: 1_000 },
    ]);
    expect(h.rows().map((r) => r.id)).toEqual([1, 3]);
    expect(h.deadLetters).toEqual([{ reason: 'no event time: `ts` is null', row: { id: 2, ts: null } }]);
    await h.push([{ id: 4, ts: 3_000 }]);
    expect(h.rows().map((r) => r.id)).toEqual([1, 3, 4]);
  });

  it('needs a timestamp column and says how to get one', () => {
    expect(() => operatorHarness(watermark, { column: 'id' }, input)).toThrow(/`id` is int64, not timestamp/);
    expect(() => operatorHarness(watermark, { column: 'nope' }, input)).toThrow(/nope/);
  });
});
