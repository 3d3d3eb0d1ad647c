/**
 * The aggregate functions of windowed operators: each one's result, its merge (what session windows use) equal to
 * adding all values to one state, nulls ignored except by count(), and the compile errors a plan author sees.
 */
import { describe, expect, it } from 'vitest';
import { schemaOf } from '../../../../engine/types.js';
import { compileAggregate, TDigest, valueOf } from '../../../../operators/windowed/aggregates.js';

const schema = schemaOf({ x: 'float64', n: 'int64', i: 'int32', s: 'string', t: 'timestamp' });

function fold(text: string, values: unknown[]) {
  const { fn } = compileAggregate('a', text, schema);
  return values.reduce((st, v) => fn.add(st, v), fn.init());
}
function result(text: string, values: unknown[]) {
  return compileAggregate('a', text, schema).fn.result(fold(text, values));
}
/** The result of adding `values` split in two states and merged. */
function merged(text: string, values: unknown[], at: number) {
  const { fn } = compileAggregate('a', text, schema);
  return fn.result(fn.merge(fold(text, values.slice(0, at)), fold(text, values.slice(at))));
}

const xs = [4, 1, 7, 1, 9, 3];

describe('aggregates', () => {
  it.each([
    ['count()', 6],
    ['sum(x)', 25],
    ['avg(x)', 25 / 6],
    ['min(x)', 1],
    ['max(x)', 9],
    ['first(x)', 4],
    ['last(x)', 3],
    ['count_distinct(x)', 5],
    ['approx_count_distinct(x)', 5],
    ['collect(x)', '[4,1,7,1,9,3]'],
  ])('%s', (text, expected) => {
    expect(result(text, xs)).toEqual(expected);
    expect(merged(text, xs, 2)).toEqual(expected);
  });

  it('computes variance and standard deviation, sample and population, and merges them exactly', () => {
    const mean = 25 / 6;
    const ss = xs.reduce((a, v) => a + (v - mean) ** 2, 0);
    for (const [text, want] of [
      ['var_samp(x)', ss / 5],
      ['variance(x)', ss / 5],
      ['var_pop(x)', ss / 6],
      ['stddev_samp(x)', Math.sqrt(ss / 5)],
      ['stddev(x)', Math.sqrt(ss / 5)],
      ['stddev_pop(x)', Math.sqrt(ss / 6)],
    ] as const) {
      expect(result(text, xs)).toBeCloseTo(want, 12);
      for (const at of [0, 1, 3, 6]) expect(merged(text, xs, at)).toBeCloseTo(want, 12);
    }
    expect(result('var_samp(x)', [5])).toBeNull();
    expect(result('var_pop(x)', [5])).toBe(0);
    expect(result('var_pop(x)', [])).toBeNull();
    expect(merged('var_pop(x)', [], 0)).toBeNull();
  });

  it('gives null for empty numeric aggregates and 0 for empty counts', () => {
    for (const text of ['sum(x)', 'avg(x)', 'min(x)', 'max(x)', 'first(x)', 'last(x)', 'median(x)', 'percentile(x, 0.9)'])
      expect([text, result(text, [])]).toEqual([text, null]);
    expect(result('count()', [])).toBe(0);
    expect(result('count_distinct(s)', [])).toBe(0);
    expect(result('approx_count_distinct(s)', [])).toBe(0);
    expect(result('collect(s)', [])).toBe('[]');
    expect(merged('sum(x)', [2], 0)).toBe(2);
    expect(merged('sum(x)', [2], 1)).toBe(2);
    expect(merged('min(x)', [2], 1)).toBe(2);
    expect(merged('max(x)', [2], 0)).toBe(2);
    expect(merged('last(x)', [2], 1)).toBe(2);
  });

  it('types results: int sums stay int64, float sums float64; min/max/first keep the argument type', () => {
    const type = (text: string) => compileAggregate('a', text, schema).fn.resultType;
    expect([type('sum(n)'), type('sum(x)'), type('count(s)'), type('min(s)'), type('max(t)'), type('first(n)'), type('avg(n)')]).toEqual([
      'int64',
      'float64',
      'int64',
      'string',
      'timestamp',
      'int64',
      'float64',
    ]);
    expect(compileAggregate('a', 'count()', schema).countRows).toBe(true);
    expect(compileAggregate('a', 'count(s)', schema).countRows).toBe(false);
    expect(compileAggregate('a', 'COUNT()', schema).countRows).toBe(true);
  });

  it('estimates distinct counts within HyperLogLog error and quantiles within t-digest error', () => {
    const many = Array.from({ length: 50_000 }, (_, i) => `user-${i % 20_000}`);
    const est = result('approx_count_distinct(s)', many) as number;
    expect(Math.abs(est - 20_000) / 20_000).toBeLessThan(0.05);
    expect(merged('approx_count_distinct(s)', many, 25_000)).toBe(est);
    const values = Array.from({ length: 10_001 }, (_, i) => (i * 7919) % 10_001);
    expect(result('median(x)', values) as number).toBeGreaterThan(4_900);
    expect(result('median(x)', values) as number).toBeLessThan(5_100);
    const p99 = merged('percentile(x, 0.99)', values, 3_000) as number;
    expect(Math.abs(p99 - 9_900)).toBeLessThan(30);
    expect(result('percentile(x, 0)', values)).toBe(0);
    expect(result('percentile(x, 1)', values)).toBe(10_000);
    expect(result('approx_percentile(x, 0.5)', [1, 2, 3])).toBe(2);
  });

  it('merges min and max whichever side holds the extreme, and merges of merges', () => {
    const values = [5, 3, 9, 1, 7];
    for (let at = 0; at <= values.length; at++) {
      expect(merged('min(x)', values, at)).toBe(1);
      expect(merged('max(x)', values, at)).toBe(9);
      expect(merged('first(x)', values, at)).toBe(5);
      expect(merged('last(x)', values, at)).toBe(7);
      expect(merged('sum(x)', values, at)).toBe(25);
      expect(merged('count_distinct(x)', [...values, 5, 1], at)).toBe(5);
    }
    expect(merged('min(x)', [2, 8], 1)).toBe(2);
    expect(merged('max(x)', [8, 2], 1)).toBe(8);
    expect(merged('max(x)', [], 0)).toBeNull();
    expect(merged('min(x)', [], 0)).toBeNull();
  });

  it('keeps a merged variance state exact for what is added after the merge, and merges empty states', () => {
    const { fn } = compileAggregate('a', 'var_pop(x)', schema);
    const all = [4, 1, 7, 1, 9, 3, 12];
    const mean = all.reduce((a, v) => a + v, 0) / all.length;
    const want = all.reduce((a, v) => a + (v - mean) ** 2, 0) / all.length;
    for (const at of [0, 2, 5, 6]) {
      const state = fn.merge(fold('var_pop(x)', all.slice(0, at)), fold('var_pop(x)', all.slice(at, 6)));
      expect(fn.result(fn.add(state, 12)) as number).toBeCloseTo(want, 10);
    }
    const empty = fn.merge(fn.init(), fn.init());
    expect(fn.result(fn.merge(empty, fold('var_pop(x)', all))) as number).toBeCloseTo(want, 10);
    expect(fn.result(fn.add(empty, 3))).toBe(0);
  });

  it('interpolates the top tail of a compressed t-digest towards the exact maximum', () => {
    const values = Array.from({ length: 10_001 }, (_, i) => (i * 7919) % 10_001);
    for (const [q, want] of [
      [0.9999, 9999],
      [0.999, 9990],
      [0.0001, 1],
      [0.25, 2500],
    ] as const)
      expect(Math.abs((result(`percentile(x, ${q})`, values) as number) - want), `q ${q}`).toBeLessThan(3);
    // Few values: one centroid each, the maximum beyond the last centre.
    expect(result('percentile(x, 0.9)', [1, 2, 3, 4])).toBe(4);
    expect(result('percentile(x, 0.5)', [4, 1, 3, 2])).toBe(2.5);
    const d = new TDigest();
    for (const v of [10, -5, 30]) d.add(v);
    const e = new TDigest();
    for (const v of [100, -50]) e.add(v);
    d.merge(e);
    expect([d.min, d.max, d.total]).toEqual([-50, 100, 5]);
    expect(d.quantile(0.5)).toBe(10);
  });

  it('estimates large distinct counts within HyperLogLog error', () => {
    for (const n of [100, 5_000, 200_000]) {
      const est = result(
        'approx_count_distinct(n)',
        Array.from({ length: n }, (_, i) => i * 31),
      ) as number;
      expect(Math.abs(est - n) / n, `n ${n}`).toBeLessThan(0.04);
    }
  });

  it('types every aggregate and takes any numeric column where numbers are needed', () => {
    const type = (text: string) => compileAggregate('a', text, schema).fn.resultType;
    expect(
      [
        'var_samp(n)',
        'stddev_pop(i)',
        'median(i)',
        'percentile(n, 0.5)',
        'approx_count_distinct(s)',
        'count_distinct(s)',
        'collect(n)',
        'sum(i)',
        'avg(i)',
      ].map(type),
    ).toEqual(['float64', 'float64', 'float64', 'float64', 'int64', 'int64', 'string', 'int64', 'float64']);
  });

  it('reads vector values, nulls and booleans as the aggregates see them', () => {
    expect(valueOf({ kind: 'str', v: ['a', undefined] } as never, 1)).toBeNull();
    expect(valueOf({ kind: 'str', v: ['a'] } as never, 0)).toBe('a');
    expect(valueOf({ kind: 'num', v: new Float64Array([1.5, 2]), valid: new Uint8Array([1, 0]) } as never, 1)).toBeNull();
    expect(valueOf({ kind: 'num', v: new Float64Array([1.5, 2]), valid: new Uint8Array([1, 0]) } as never, 0)).toBe(1.5);
    expect(valueOf({ kind: 'bool', v: new Uint8Array([1, 0]) } as never, 0)).toBe(true);
    expect(valueOf({ kind: 'bool', v: new Uint8Array([1, 0]) } as never, 1)).toBe(false);
  });

  it('revives a t-digest that lost its class in a checkpoint', () => {
    const { fn } = compileAggregate('a', 'median(x)', schema);
    const state = fold('median(x)', [1, 2, 3, 4, 5]) as TDigest;
    state.compress();
    const copy = structuredClone(state);
    expect(copy).not.toBeInstanceOf(TDigest);
    const back = fn.revive!(copy) as TDigest;
    expect(back).toBeInstanceOf(TDigest);
    expect(fn.result(fn.add(back, 6))).toBe(3.5);
    expect(fn.revive!(state)).toBe(state);
  });

  it('names what is wrong with an aggregate', () => {
    const err = (text: string) => () => compileAggregate('a', text, schema);
    expect(err('x + 1')).toThrow(/an aggregate is a call such as count\(\) or sum\(amount\), got `x \+ 1`/);
    expect(err('nope(x)')).toThrow(/unknown aggregate nope\(\)/);
    expect(err('sum()')).toThrow(/sum\(\) takes 1 argument\(s\)/);
    expect(err('count(x, n)')).toThrow(/count\(\) takes 0 or 1 argument\(s\)/);
    expect(err('percentile(x)')).toThrow(/takes 2 argument/);
    expect(err('sum(s)')).toThrow(/sum\(\) needs a number, got string/);
    expect(err('avg(null)')).toThrow(/avg\(\) needs a number, got null/);
    expect(err('percentile(x, n)')).toThrow(/argument must be a literal/);
    expect(err('percentile(x, 1.5)')).toThrow(/needs q between 0 and 1/);
    expect(err('percentile(x, -0.1)')).toThrow();
    expect(err("percentile(x, '0.5')")).toThrow(/needs q between 0 and 1/);
    expect(err('a.b(x)')).toThrow(/an aggregate is a call/);
    expect(err('approx_percentile(x, 2)')).toThrow(/approx_percentile\(x, q\) needs q between 0 and 1/);
    for (const text of ['x + 1', 'nope(x)', 'sum()', 'sum(s)', 'percentile(x, n)', 'percentile(x, 1.5)'])
      expect(err(text), text).toThrow(expect.objectContaining({ code: 'expression_type' }));
    expect(err('nope(x)')).toThrow(expect.objectContaining({ hint: expect.stringMatching(/^aggregates: count, sum, avg, min, max/) }));
    expect(err('x + 1')).toThrow(expect.objectContaining({ hint: expect.stringMatching(/^aggregates: count/) }));
  });
});
