/** `select`, `drop` and `rename` through the operator harness: the columns they keep, and the names they refuse. */
import { describe, expect, it } from 'vitest';
import { operatorHarness } from '../../../../engine/testing.js';
import { drop, rename, select } from '../../../../operators/stateless/columns.js';

const input = { id: 'int64', email: 'string', amount: 'float64' } as const;
const row = { id: 1, email: 'a@b.c', amount: 2.5 };

describe('select, drop, rename', () => {
  it('select keeps the listed columns in the listed order', async () => {
    const h = operatorHarness(select, { columns: ['amount', 'id'] }, input);
    await h.push([row]);
    expect(h.rows()).toEqual([{ amount: 2.5, id: 1 }]);
    expect(Object.keys(h.rows()[0]!)).toEqual(['amount', 'id']);
  });

  it('drop removes the listed columns', async () => {
    const h = operatorHarness(drop, { columns: ['email'] }, input);
    await h.push([row]);
    expect(h.rows()).toEqual([{ id: 1, amount: 2.5 }]);
  });

  it('rename renames in place, values untouched', async () => {
    const h = operatorHarness(rename, { columns: { amount: 'amount_usd' } }, input);
    await h.push([row]);
    expect(Object.keys(h.rows()[0]!)).toEqual(['id', 'email', 'amount_usd']);
    expect(h.rows()[0]!.amount_usd).toBe(2.5);
  });

  it('names a column the input lacks, and a rename onto a taken name', () => {
    expect(() => operatorHarness(select, { columns: ['nope'] }, input)).toThrow(/nope/);
    expect(() => operatorHarness(drop, { columns: ['nope'] }, input)).toThrow(/nope/);
    expect(() => operatorHarness(rename, { columns: { nope: 'x' } }, input)).toThrow(/nope/);
    expect(() => operatorHarness(rename, { columns: { amount: 'id' } }, input)).toThrow(/id/);
    expect(() => operatorHarness(select, { columns: [] }, input)).toThrow(/columns/);
  });
});
