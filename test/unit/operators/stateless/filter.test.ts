/** `filter` through the operator harness: rows where the predicate is true pass; false and null do not. */
import { describe, expect, it } from 'vitest';
import { operatorHarness } from '../../../../engine/testing.js';
import { filter } from '../../../../operators/stateless/filter.js';

const input = { id: 'int64', amount: 'float64', status: 'string' } as const;

describe('filter', () => {
  it('keeps rows where the predicate is true, and drops false and null (SQL three-valued logic)', async () => {
    const h = operatorHarness(filter, { where: "amount > 100 and status = 'settled'" }, input);
    await h.push([
      { id: 1, amount: 150, status: 'settled' },
      { id: 2, amount: 50, status: 'settled' },
      { id: 3, amount: null, status: 'settled' },
      { id: 4, amount: 500, status: 'failed' },
      { id: 5, amount: 101, status: 'settled' },
    ]);
    expect(h.rows().map((r) => r.id)).toEqual([1, 5]);
    expect(h.deadLetters).toEqual([]);
  });

  it('refuses a predicate that is not boolean or reads an unknown column', () => {
    expect(() => operatorHarness(filter, { where: 'amount + 1' }, input)).toThrow(/bool/i);
    expect(() => operatorHarness(filter, { where: 'nope > 1' }, input)).toThrow(/nope/);
  });
});
