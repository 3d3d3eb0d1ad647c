import { describe, expect, it } from 'vitest';
import { batchFromRows } from '../../../../engine/arrow/columns.js';
import { compileExpression, compilePredicate, evalContext } from '../../../../engine/expr/compile.js';
import { isNullAt, type Vec } from '../../../../engine/expr/vec.js';

/** A JS value for row i. */
const valueAt = (x: Vec, i: number): unknown => (isNullAt(x, i) ? null : x.kind === 'bool' ? x.v[i] === 1 : x.v[i]);
import { schemaOf } from '../../../../engine/types.js';

const schema = schemaOf({ a: 'int64', b: 'float64', s: 'string', f: 'bool', ts: 'timestamp', n: 'int64' });
const rows = [
  { a: 1, b: 2.5, s: 'Paid', f: true, ts: Date.UTC(2024, 0, 31, 13, 45, 10), n: null },
  { a: -7, b: 0, s: null, f: false, ts: Date.UTC(1969, 11, 31, 23, 0, 0), n: 3 },
  { a: 10, b: -1.5, s: 'failed', f: null, ts: null, n: 0 },
];
const batch = batchFromRows(schema, rows);

function run(text: string): { type: string; values: unknown[]; errors: [number, string][] } {
  const e = compileExpression(text, schema);
  const ctx = evalContext(batch);
  const v = e.eval(ctx);
  return { type: e.type, values: rows.map((_, i) => valueAt(v, i)), errors: [...(ctx.errors ?? [])] };
}

describe('expressions', () => {
  it('keeps integer arithmetic integral and makes / float', () => {
    expect(run('a * 2 + 1')).toMatchObject({ type: 'int64', values: [3, -13, 21] });
    expect(run('a / 2')).toMatchObject({ type: 'float64', values: [0.5, -3.5, 5] });
    expect(run('a % 3').values).toEqual([1, -1, 1]);
  });

  it('gives null for a null operand and for division by zero', () => {
    expect(run('a + n').values).toEqual([null, -4, 10]);
    expect(run('a / b').values).toEqual([0.4, null, 10 / -1.5]);
  });

  it('uses three-valued logic for and/or/not', () => {
    expect(run('f and true').values).toEqual([true, false, null]);
    expect(run('f and false').values).toEqual([false, false, false]);
    expect(run('f or true').values).toEqual([true, true, true]);
    expect(run('f or false').values).toEqual([true, false, null]);
    expect(run('not f').values).toEqual([false, true, null]);
  });

  it('compares with null as unknown', () => {
    expect(run("s = 'Paid'").values).toEqual([true, null, false]);
    expect(run("s != 'Paid'").values).toEqual([false, null, true]);
    expect(run("s in ['Paid', 'failed']").values).toEqual([true, null, true]);
  });

  it('evaluates searched and simple CASE, ternaries and if()', () => {
    expect(run("CASE WHEN a > 5 THEN 'big' WHEN a > 0 THEN 'small' ELSE 'neg' END").values).toEqual(['small', 'neg', 'big']);
    expect(run("CASE s WHEN 'Paid' THEN 1 WHEN 'failed' THEN 2 END").values).toEqual([1, null, 2]);
    expect(run('a > 0 ? b : 0').values).toEqual([2.5, 0, -1.5]);
    expect(run('if(f, 1, 2)').values).toEqual([1, 2, 2]);
  });

  it('has string functions', () => {
    expect(run('lower(s)').values).toEqual(['paid', null, 'failed']);
    expect(run("concat(s, '-', a)").values).toEqual(['Paid-1', '--7', 'failed-10']);
    expect(run('length(s)').values).toEqual([4, null, 6]);
    expect(run('substr(s, 2, 2)').values).toEqual(['ai', null, 'ai']);
    expect(run("regexp_matches(s, '^f')").values).toEqual([false, null, true]);
    expect(run("coalesce(s, 'none')").values).toEqual(['Paid', 'none', 'failed']);
  });

  it('truncates and extracts time in UTC, before the epoch too', () => {
    expect(run("date_trunc('hour', ts)").values).toEqual([Date.UTC(2024, 0, 31, 13), Date.UTC(1969, 11, 31, 23), null]);
    expect(run("extract('hour', ts)").values).toEqual([13, 23, null]);
    expect(run("extract('year', ts)").values).toEqual([2024, 1969, null]);
    expect(run("ts >= '2024-01-01'").values).toEqual([true, false, null]);
    expect(run("ts + interval('1h')").values).toEqual([Date.UTC(2024, 0, 31, 14, 45, 10), Date.UTC(1970, 0, 1), null]);
  });

  it('truncates and extracts in years 1-99 as in any other (Date.UTC maps them to 1900-1999)', () => {
    const old = schemaOf({ ts: 'timestamp' });
    const at = Date.parse('0050-06-15T10:00:00Z');
    const one = (text: string) => valueAt(compileExpression(text, old).eval(evalContext(batchFromRows(old, [{ ts: at }]))), 0);
    expect(one("date_trunc('year', ts)")).toBe(Date.parse('0050-01-01T00:00:00Z'));
    expect(one("date_trunc('month', ts)")).toBe(Date.parse('0050-06-01T00:00:00Z'));
    expect(one("extract('doy', ts)")).toBe(166);
    expect(one("extract('week', ts)")).toBe(24);
    expect(one("parse_timestamp('0007-03-01T00:00:00Z')")).toBe(Date.parse('0007-03-01T00:00:00Z'));
  });

  it('reports values that cannot be cast as row errors; try_cast gives null', () => {
    const r = run('int(s)');
    expect(r.values).toEqual([null, null, null]);
    expect(r.errors.map(([i]) => i)).toEqual([0, 2]);
    expect(r.errors[0]![1]).toContain('cannot cast "Paid"');
    expect(run("try_cast(s, 'int64')").errors).toEqual([]);
    expect(run("float('2.5') + a").values).toEqual([3.5, -4.5, 12.5]);
  });

  it('type-checks at compile time', () => {
    expect(() => compileExpression('s + 1', schema)).toThrow(/cannot combine string and int64/);
    expect(() => compileExpression('missing > 1', schema)).toThrow(/unknown column `missing`/);
    expect(() => compilePredicate('a + 1', schema)).toThrow(/must be boolean/);
    expect(() => compileExpression("date_trunc('fortnight', ts)", schema)).toThrow(/unknown unit/);
    expect(() => compileExpression('a >', schema)).toThrow(/invalid expression/);
  });

  it('never evaluates user text as JavaScript', () => {
    expect(() => compileExpression("constructor.constructor('return process')()", schema)).toThrow();
    expect(() => compileExpression('this', schema)).toThrow(/unsupported syntax/);
  });
});
