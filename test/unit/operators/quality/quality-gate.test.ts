/**
 * `quality_gate` through the operator harness: quarantine with reason codes in enforce mode, copies in monitor mode,
 * a JSON record checked against its declared schema, uniqueness on a ManualClock, and per-window monitors.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../../engine/api.js';
import { operatorHarness } from '../../../../engine/testing.js';
import { qualityGate } from '../../../../operators/quality/quality-gate.js';

const users = { id: 'int64', age: 'int64', blood: 'string' } as const;
const rules = [
  { column: 'id', notNull: true },
  { column: 'age', range: { min: 0, max: 120 } },
  { column: 'blood', enum: ['A+', 'O-'] },
];

describe('quality_gate', () => {
  it('enforce: failing records go only to quarantine with every reason; out and quarantine add up to the input', async () => {
    const h = operatorHarness(qualityGate, { rules }, users);
    await h.push([
      { id: 1, age: 30, blood: 'A+' },
      { id: null, age: 200, blood: 'A+' },
      { id: 3, age: 40, blood: 'Z' },
    ]);
    expect(h.rows().map((r) => r.id)).toEqual([1]);
    const q = h.rows('quarantine');
    expect(q.map((r) => [r.id, r._dq_reason])).toEqual([
      [null, 'not_null'],
      [3, 'not_in_enum'],
    ]);
    expect(JSON.parse(String(q[0]!._dq_reasons)).map((r: { code: string }) => r.code)).toEqual(['not_null', 'out_of_range']);
  });

  it('monitor: every record passes and failures are copied to quarantine', async () => {
    const h = operatorHarness(qualityGate, { mode: 'monitor', rules }, users);
    await h.push([
      { id: 1, age: 30, blood: 'A+' },
      { id: 2, age: -1, blood: 'O-' },
    ]);
    expect(h.rows().map((r) => r.id)).toEqual([1, 2]);
    expect(h.rows('quarantine').map((r) => [r.id, r._dq_reason])).toEqual([[2, 'out_of_range']]);
  });

  it('checks a JSON record against the declared schema and outputs typed columns; drift is quarantined or reported', async () => {
    const h = operatorHarness(qualityGate, { record: 'data', schema: { id: 'int64', email: 'string' } }, { stream: 'string', data: 'json' });
    expect(h.outputs.out!.fields.map((f) => f.name)).toEqual(['stream', 'id', 'email']);
    await h.push([
      { stream: 'users', data: '{"id": 1, "email": "a@b.c"}' },
      { stream: 'users', data: '{"id": "one", "email": "a@b.c"}' },
      { stream: 'users', data: '{"email": "x@y.z"}' },
      { stream: 'users', data: '{"id": 4, "email": "d@e.f", "plan": "pro"}' },
    ]);
    expect(h.rows()).toEqual([
      { stream: 'users', id: 1, email: 'a@b.c' },
      { stream: 'users', id: 4, email: 'd@e.f' },
    ]);
    expect(h.rows('quarantine').map((r) => r._dq_reason)).toEqual(['type_mismatch', 'missing_field']);
    expect(h.rows('events').map((e) => [e.code, e.column])).toEqual([['new_field', 'plan']]);
  });

  it('finds repeats within the uniqueness horizon of processing time, and not after it', async () => {
    const clock = new ManualClock(1_000_000);
    const h = operatorHarness(qualityGate, { rules: [{ column: 'id', unique: { within: '1m' } }] }, users, { clock });
    await h.push([{ id: 1, age: 1, blood: 'A+' }]);
    clock.advance(30_000);
    await h.push([{ id: 1, age: 1, blood: 'A+' }]);
    clock.advance(61_000);
    await h.push([{ id: 1, age: 1, blood: 'A+' }]);
    expect(h.rows().length).toBe(2);
    expect(h.rows('quarantine').map((r) => r._dq_reason)).toEqual(['duplicate']);
    const restored = h.restored(h.snapshot()!);
    await restored.push([{ id: 1, age: 1, blood: 'A+' }]);
    expect(restored.rows('quarantine').map((r) => r._dq_reason)).toEqual(['duplicate']);
  });

  it('reports null rates and volume per processing-time window on `events`', async () => {
    const clock = new ManualClock(0);
    const h = operatorHarness(qualityGate, { monitors: { window: '1m', nullRate: { blood: 0.1 }, volume: { min: 3 } } }, users, { clock });
    await h.push([
      { id: 1, age: 1, blood: null },
      { id: 2, age: 1, blood: 'A+' },
    ]);
    clock.advance(60_000);
    await h.tick(60_000);
    expect(
      h
        .rows('events')
        .map((e) => e.code)
        .sort(),
    ).toEqual(['null_rate', 'volume_low']);
  });

  it('names unknown columns and a record without a schema', () => {
    expect(() => operatorHarness(qualityGate, { rules: [{ column: 'nope', notNull: true }] }, users)).toThrow(/unknown column `nope`/);
    expect(() => operatorHarness(qualityGate, { record: 'data' }, { data: 'json' })).toThrow(/`record` needs the declared `schema`/);
    expect(() => operatorHarness(qualityGate, { record: 'id', schema: { a: 'int64' } }, users)).toThrow(/`id` is int64, not a JSON column/);
  });
});
