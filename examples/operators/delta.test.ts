/** The example operator's tests, written with abflow's public test harness (`abflow/testing`). */
import { describe, expect, it } from 'vitest';
import { operatorHarness } from 'abflow/testing';
import { delta } from './delta.mjs';

const schema = { meter: 'string', kwh: 'float64', at: 'timestamp' } as const;
const t = (min: number) => Date.UTC(2024, 0, 1, 0, min);

describe('delta (example operator)', () => {
  it('adds the change since the key’s previous row and its rate per second', async () => {
    const h = operatorHarness(delta, { keyBy: ['meter'], value: 'kwh', timeColumn: 'at' }, schema);
    await h.push([
      { meter: 'a', kwh: 10, at: t(0) },
      { meter: 'b', kwh: 5, at: t(0) },
      { meter: 'a', kwh: 16, at: t(1) },
    ]);
    await h.push([{ meter: 'b', kwh: 8, at: t(2) }]);
    expect(h.rows().map((r) => [r.meter, r.kwh_delta, r.kwh_rate])).toEqual([
      ['a', null, null],
      ['b', null, null],
      ['a', 6, 0.1],
      ['b', 3, 0.025],
    ]);
  });

  it('dead-letters rows without a value or time, with a reason', async () => {
    const h = operatorHarness(delta, { keyBy: ['meter'], value: 'kwh', timeColumn: 'at' }, schema);
    await h.push([{ meter: 'a', kwh: null, at: t(0) }]);
    expect(h.rows()).toEqual([]);
    expect(h.deadLetters.map((d) => d.reason)).toEqual(['delta: kwh or at is null']);
  });

  it('continues from a checkpoint: state survives snapshot and restore', async () => {
    const h = operatorHarness(delta, { keyBy: ['meter'], value: 'kwh', timeColumn: 'at' }, schema);
    await h.push([{ meter: 'a', kwh: 10, at: t(0) }]);
    const restored = h.restored(h.snapshot()!);
    await restored.push([{ meter: 'a', kwh: 13, at: t(1) }]);
    expect(restored.rows()[0]!.kwh_delta).toBe(3);
  });

  it('rejects a non-numeric value column at plan compile time, naming the field', () => {
    expect(() => operatorHarness(delta, { keyBy: ['meter'], value: 'meter', timeColumn: 'at' }, schema)).toThrow(/`meter` is not numeric/);
    expect(() => operatorHarness(delta, { keyBy: ['meter'], value: 'kwh' }, schema)).toThrow(/timeColumn/);
  });
});
