/** `cast` through the operator harness: conversions, and values that do not convert dead-lettered or nulled. */
import { describe, expect, it } from 'vitest';
import { operatorHarness } from '../../../../engine/testing.js';
import { cast } from '../../../../operators/stateless/cast.js';

const input = { id: 'int64', amount: 'string', at: 'string' } as const;

describe('cast', () => {
  it('converts strings to numbers and timestamps, leaving other columns as they were', async () => {
    const h = operatorHarness(cast, { columns: { amount: 'float64', at: 'timestamp' } }, input);
    expect(h.outputs.out!.fields.map((f) => `${f.name}:${String(f.type)}`)).toEqual(['id:Int64', 'amount:Float64', expect.stringMatching(/^at:Timestamp/)]);
    await h.push([
      { id: 1, amount: '12.5', at: '2024-03-01T10:00:00Z' },
      { id: 2, amount: null, at: null },
    ]);
    expect(h.rows()).toEqual([
      { id: 1, amount: 12.5, at: '2024-03-01T10:00:00.000Z' },
      { id: 2, amount: null, at: null },
    ]);
  });

  it('sends a row whose value does not convert to dead letters, naming column and value; or nulls it', async () => {
    const strict = operatorHarness(cast, { columns: { amount: 'float64' } }, input);
    await strict.push([
      { id: 1, amount: 'twelve', at: 'x' },
      { id: 2, amount: '3', at: 'y' },
    ]);
    expect(strict.rows().map((r) => r.id)).toEqual([2]);
    expect(strict.deadLetters).toHaveLength(1);
    expect(strict.deadLetters[0]!.reason).toBe('amount: cannot cast "twelve" (string) to float64');
    expect(strict.deadLetters[0]!.row).toEqual({ id: 1, amount: 'twelve', at: 'x' });
    const lenient = operatorHarness(cast, { columns: { amount: 'float64' }, onError: 'null' }, input);
    await lenient.push([{ id: 1, amount: 'twelve', at: 'x' }]);
    expect(lenient.rows()).toEqual([{ id: 1, amount: null, at: 'x' }]);
    expect(lenient.deadLetters).toEqual([]);
  });

  it('names a column the input lacks', () => {
    expect(() => operatorHarness(cast, { columns: { nope: 'int64' } }, input)).toThrow(/nope/);
  });
});
