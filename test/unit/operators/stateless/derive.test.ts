/** `derive` through the operator harness: new and replaced columns in order, and rows whose expression fails
 * dead-lettered with the reason (never dropped, never nulled silently). */
import { describe, expect, it } from 'vitest';
import { operatorHarness } from '../../../../engine/testing.js';
import { derive } from '../../../../operators/stateless/derive.js';

const input = { id: 'int64', amount: 'float64', currency: 'string', note: 'string' } as const;

describe('derive', () => {
  it('computes columns in order, later ones reading earlier ones, and replaces a column in place', async () => {
    const h = operatorHarness(
      derive,
      { columns: { amount_usd: "amount * CASE currency WHEN 'EUR' THEN 2 ELSE 1 END", large: 'amount_usd > 10', currency: 'lower(currency)' } },
      input,
    );
    expect(h.outputs.out!.fields.map((f) => f.name)).toEqual(['id', 'amount', 'currency', 'note', 'amount_usd', 'large']);
    await h.push([
      { id: 1, amount: 6, currency: 'EUR', note: null },
      { id: 2, amount: 6, currency: 'USD', note: 'x' },
    ]);
    expect(h.rows()).toEqual([
      { id: 1, amount: 6, currency: 'eur', note: null, amount_usd: 12, large: true },
      { id: 2, amount: 6, currency: 'usd', note: 'x', amount_usd: 6, large: false },
    ]);
  });

  it('dead-letters a row whose expression fails, with the reason, and keeps the others in order', async () => {
    const h = operatorHarness(derive, { columns: { n: "cast(note, 'int64')" } }, input);
    await h.push([
      { id: 1, amount: 1, currency: 'EUR', note: '7' },
      { id: 2, amount: 1, currency: 'EUR', note: 'seven' },
      { id: 3, amount: 1, currency: 'EUR', note: '9' },
    ]);
    expect(h.rows().map((r) => [r.id, r.n])).toEqual([
      [1, 7],
      [3, 9],
    ]);
    expect(h.deadLetters).toHaveLength(1);
    expect(h.deadLetters[0]!.row).toEqual({ id: 2, amount: 1, currency: 'EUR', note: 'seven' });
    expect(h.deadLetters[0]!.reason).toBe('n: cannot cast "seven" (string) to int64');
  });

  it('names an unknown column and a type error at compile time', () => {
    expect(() => operatorHarness(derive, { columns: { x: 'nope + 1' } }, input)).toThrow(/nope/);
    expect(() => operatorHarness(derive, { columns: { x: "amount + 'a'" } }, input)).toThrow();
  });
});
