/**
 * `dedupe` on processing time, driven by a ManualClock through the harness users test their operators with: a key is
 * a repeat until exactly `ttl` after it was last kept, without a single sleep.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../../engine/api.js';
import { operatorHarness } from '../../../../engine/testing.js';
import { dedupe } from '../../../../operators/quality/dedupe.js';

describe('dedupe (processing time)', () => {
  it('sends a key seen within the TTL to duplicates, and lets it through once the TTL has passed', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const h = operatorHarness(dedupe, { key: ['id'], ttl: '10s' }, { id: 'int64', n: 'int64' }, { clock });
    await h.push([
      { id: 1, n: 1 },
      { id: 2, n: 1 },
    ]);
    await clock.advance(9_999);
    await h.push([{ id: 1, n: 2 }]);
    await clock.advance(1);
    await h.push([
      { id: 1, n: 3 },
      { id: 2, n: 3 },
    ]);
    expect(h.rows().map((r) => [r.id, r.n])).toEqual([
      [1, 1],
      [2, 1],
      [1, 3],
      [2, 3],
    ]);
    expect(h.rows('duplicates').map((r) => [r.id, r.n])).toEqual([[1, 2]]);
  });
});
