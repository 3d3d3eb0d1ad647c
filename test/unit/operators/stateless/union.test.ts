/** `union` through the operator harness: rows of every input, unchanged; inputs must share a schema. */
import { describe, expect, it } from 'vitest';
import { operatorHarness } from '../../../../engine/testing.js';
import { union } from '../../../../operators/stateless/union.js';

const feed = { id: 'int64', amount: 'float64' } as const;

describe('union', () => {
  it('passes the rows of every input through', async () => {
    const h = operatorHarness(union, {}, [feed, feed]);
    await h.push([{ id: 1, amount: 1 }], 0);
    await h.push([{ id: 2, amount: 2 }], 1);
    expect(h.rows()).toEqual([
      { id: 1, amount: 1 },
      { id: 2, amount: 2 },
    ]);
  });

  it('refuses inputs whose schemas differ, naming the difference', () => {
    expect(() => operatorHarness(union, {}, [feed, { id: 'int64', amount: 'string' }])).toThrow(/amount/);
  });
});
