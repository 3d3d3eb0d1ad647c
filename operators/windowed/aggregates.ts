/**
 * Aggregate functions for windowed operators, written as `name(expression)` in plans: `count()`, `sum(amount)`,
 * `percentile(latency_ms, 0.99)`. Each is an incremental accumulator (init/add/merge/result, as Flink's
 * AggregateFunction), so window state holds one small value per aggregate, not the rows; `merge` combines session
 * windows. Null inputs are ignored by every aggregate except `count()`.
 */
import { AbflowError, type ColumnType, compileAst, type ExprNode, keyHash, parseExpression, type Schema, type Vec } from '../../engine/api.js';

export interface AggregateFn<S> {
  readonly resultType: ColumnType;
  /** Rebuilds a state restored from a checkpoint (class instances lose their prototype in serialization). */
  revive?(state: S): S;
  init(): S;
  add(state: S, value: unknown): S;
  merge(a: S, b: S): S;
  result(state: S): unknown;
}

type Factory = (argType: ColumnType | null, literals: unknown[]) => AggregateFn<unknown>;

const numeric = (t: ColumnType | null): boolean => t === 'int32' || t === 'int64' || t === 'float64';

function simple(
  resultType: ColumnType,
  init: () => unknown,
  add: (s: never, v: never) => unknown,
  merge: (a: never, b: never) => unknown,
  result: (s: never) => unknown = (s) => s,
): AggregateFn<unknown> {
  return { resultType, init, add: add as never, merge: merge as never, result: result as never };
}

/** Welford's online variance: state [n, mean, m2]. */
function variance(kind: 'var_samp' | 'var_pop' | 'stddev_samp' | 'stddev_pop'): Factory {
  return () =>
    simple(
      'float64',
      () => [0, 0, 0],
      (s: number[], v: number) => {
        const n = s[0]! + 1;
        const d = v - s[1]!;
        const mean = s[1]! + d / n;
        return [n, mean, s[2]! + d * (v - mean)];
      },
      (a: number[], b: number[]) => {
        const n = a[0]! + b[0]!;
        if (!n) return [0, 0, 0];
        const d = b[1]! - a[1]!;
        return [n, a[1]! + (d * b[0]!) / n, a[2]! + b[2]! + (d * d * a[0]! * b[0]!) / n];
      },
      (s: number[]) => {
        const denom = kind.endsWith('samp') ? s[0]! - 1 : s[0]!;
        if (denom <= 0) return null;
        const v = s[2]! / denom;
        return kind.startsWith('stddev') ? Math.sqrt(v) : v;
      },
    );
}

/** HyperLogLog with 2^12 registers (≈1.6 % standard error), over a 32-bit hash of the value's text. */
const HLL_P = 12;
const HLL_M = 1 << HLL_P;
function hllEstimate(r: Uint8Array): number {
  let sum = 0;
  let zeros = 0;
  for (let j = 0; j < HLL_M; j++) {
    sum += 2 ** -r[j]!;
    if (r[j] === 0) zeros++;
  }
  const e = ((0.7213 / (1 + 1.079 / HLL_M)) * HLL_M * HLL_M) / sum;
  return Math.round(e <= 2.5 * HLL_M && zeros ? HLL_M * Math.log(HLL_M / zeros) : e);
}

/** A merging t-digest (Dunning), compression 100: approximate quantiles in bounded memory. It keeps the exact
 * minimum and maximum, as Dunning's MergingDigest does, so q = 0 and q = 1 are exact and the tails interpolate
 * towards them instead of stopping at the outermost centroid. */
export class TDigest {
  means: number[] = [];
  weights: number[] = [];
  private bufMeans: number[] = [];
  private bufWeights: number[] = [];
  total = 0;
  min = Infinity;
  max = -Infinity;

  /** A digest back from a checkpoint (structured clone keeps the fields, not the class). */
  static revive(s: TDigest): TDigest {
    return s instanceof TDigest ? s : Object.assign(new TDigest(), s);
  }

  add(x: number, w = 1): void {
    this.bufMeans.push(x);
    this.bufWeights.push(w);
    this.total += w;
    if (x < this.min) this.min = x;
    if (x > this.max) this.max = x;
    if (this.bufMeans.length >= 500) this.compress();
  }

  merge(o: TDigest): TDigest {
    o.compress();
    for (let i = 0; i < o.means.length; i++) this.add(o.means[i]!, o.weights[i]!);
    this.min = Math.min(this.min, o.min);
    this.max = Math.max(this.max, o.max);
    return this;
  }

  compress(): void {
    if (!this.bufMeans.length) return;
    const idx = [...this.means.keys()].map((i) => [this.means[i]!, this.weights[i]!] as const);
    for (let i = 0; i < this.bufMeans.length; i++) idx.push([this.bufMeans[i]!, this.bufWeights[i]!]);
    idx.sort((a, b) => a[0] - b[0]);
    this.bufMeans = [];
    this.bufWeights = [];
    const means: number[] = [];
    const weights: number[] = [];
    const k = (q: number) => (100 / (2 * Math.PI)) * Math.asin(2 * q - 1); // k1 scale function, δ = 100
    let seen = 0;
    for (const [m, w] of idx) {
      const last = means.length - 1;
      if (last >= 0 && k((seen + w) / this.total) - k((seen - weights[last]!) / this.total) <= 1) {
        const nw = weights[last]! + w;
        means[last] = means[last]! + ((m - means[last]!) * w) / nw;
        weights[last] = nw;
      } else {
        means.push(m);
        weights.push(w);
      }
      seen += w;
    }
    this.means = means;
    this.weights = weights;
  }

  quantile(q: number): number | null {
    this.compress();
    const n = this.means.length;
    if (!n) return null;
    if (q <= 0) return this.min;
    if (q >= 1) return this.max;
    // Each centroid's mass sits around its centre; the minimum is at rank 0 and the maximum at rank `total`.
    const target = q * this.total;
    let prevCenter = 0;
    let prevMean = this.min;
    let seen = 0;
    for (let i = 0; i < n; i++) {
      const center = seen + this.weights[i]! / 2;
      if (target <= center) return prevMean + ((target - prevCenter) / (center - prevCenter)) * (this.means[i]! - prevMean);
      prevCenter = center;
      prevMean = this.means[i]!;
      seen += this.weights[i]!;
    }
    return prevMean + ((target - prevCenter) / (this.total - prevCenter)) * (this.max - prevMean);
  }
}

const FACTORIES: Record<string, { args: [number, number]; describe: string; make: Factory }> = {
  count: {
    args: [0, 1],
    describe: 'count() rows, or count(x) non-null values',
    make: () =>
      simple(
        'int64',
        () => 0,
        (s: number) => s + 1,
        (a: number, b: number) => a + b,
      ),
  },
  sum: {
    args: [1, 1],
    describe: 'sum(x) of numbers',
    make: (t) =>
      simple(
        t === 'float64' ? 'float64' : 'int64',
        () => null,
        (s: number | null, v: number) => (s ?? 0) + v,
        (a: number | null, b: number | null) => (a === null ? b : b === null ? a : a + b),
      ),
  },
  avg: {
    args: [1, 1],
    describe: 'avg(x) of numbers',
    make: () =>
      simple(
        'float64',
        () => [0, 0],
        (s: number[], v: number) => [s[0]! + v, s[1]! + 1],
        (a: number[], b: number[]) => [a[0]! + b[0]!, a[1]! + b[1]!],
        (s: number[]) => (s[1] ? s[0]! / s[1]! : null),
      ),
  },
  min: {
    args: [1, 1],
    describe: 'min(x)',
    make: (t) =>
      simple(
        t!,
        () => null,
        (s: never, v: never) => (s === null || v < s ? v : s),
        (a: never, b: never) => (a === null || (b !== null && b < a) ? b : a),
      ),
  },
  max: {
    args: [1, 1],
    describe: 'max(x)',
    make: (t) =>
      simple(
        t!,
        () => null,
        (s: never, v: never) => (s === null || v > s ? v : s),
        (a: never, b: never) => (a === null || (b !== null && b > a) ? b : a),
      ),
  },
  first: {
    args: [1, 1],
    describe: 'first(x) in arrival order',
    make: (t) =>
      simple(
        t!,
        () => null,
        (s: unknown, v: unknown) => s ?? v,
        (a: unknown, b: unknown) => a ?? b,
      ),
  },
  last: {
    args: [1, 1],
    describe: 'last(x) in arrival order',
    make: (t) =>
      simple(
        t!,
        () => null,
        (_s: unknown, v: unknown) => v,
        (a: unknown, b: unknown) => b ?? a,
      ),
  },
  var_samp: { args: [1, 1], describe: 'sample variance', make: variance('var_samp') },
  var_pop: { args: [1, 1], describe: 'population variance', make: variance('var_pop') },
  stddev_samp: { args: [1, 1], describe: 'sample standard deviation', make: variance('stddev_samp') },
  stddev_pop: { args: [1, 1], describe: 'population standard deviation', make: variance('stddev_pop') },
  count_distinct: {
    args: [1, 1],
    describe: 'count_distinct(x), exact',
    make: () =>
      simple(
        'int64',
        () => new Set(),
        (s: Set<unknown>, v: unknown) => s.add(v),
        (a: Set<unknown>, b: Set<unknown>) => new Set([...a, ...b]),
        (s: Set<unknown>) => s.size,
      ),
  },
  approx_count_distinct: {
    args: [1, 1],
    describe: 'approx_count_distinct(x), HyperLogLog (±1.6 %)',
    make: () =>
      simple(
        'int64',
        () => new Uint8Array(HLL_M),
        (r: Uint8Array, v: unknown) => {
          const h = keyHash(String(v));
          const j = h >>> (32 - HLL_P);
          const rank = Math.clz32(((h << HLL_P) | (1 << (HLL_P - 1))) >>> 0) + 1;
          if (rank > r[j]!) r[j] = rank;
          return r;
        },
        (a: Uint8Array, b: Uint8Array) => a.map((x, j) => Math.max(x, b[j]!)),
        hllEstimate,
      ),
  },
  percentile: {
    args: [2, 2],
    describe: 'percentile(x, q) approximate (t-digest), q in [0, 1]',
    make: (_t, [q]) => ({
      ...simple(
        'float64',
        () => new TDigest(),
        (s: TDigest, v: number) => (s.add(v), s),
        (a: TDigest, b: TDigest) => a.merge(b),
        (s: TDigest) => s.quantile(q as number),
      ),
      revive: TDigest.revive as never,
    }),
  },
  median: {
    args: [1, 1],
    describe: 'median(x) approximate (t-digest)',
    make: () => ({
      ...simple(
        'float64',
        () => new TDigest(),
        (s: TDigest, v: number) => (s.add(v), s),
        (a: TDigest, b: TDigest) => a.merge(b),
        (s: TDigest) => s.quantile(0.5),
      ),
      revive: TDigest.revive as never,
    }),
  },
  collect: {
    args: [1, 1],
    describe: 'collect(x): the values as a JSON array (string)',
    make: () =>
      simple(
        'string',
        () => [],
        (s: unknown[], v: unknown) => (s.push(v), s),
        (a: unknown[], b: unknown[]) => a.concat(b),
        (s: unknown[]) => JSON.stringify(s),
      ),
  },
};
FACTORIES.stddev = FACTORIES.stddev_samp!;
FACTORIES.variance = FACTORIES.var_samp!;
FACTORIES.approx_percentile = FACTORIES.percentile!;

const NUMERIC_ONLY = new Set([
  'sum',
  'avg',
  'var_samp',
  'var_pop',
  'stddev_samp',
  'stddev_pop',
  'stddev',
  'variance',
  'percentile',
  'approx_percentile',
  'median',
]);

export interface CompiledAggregate {
  readonly name: string;
  readonly fn: AggregateFn<unknown>;
  /** The argument expression; null for count(). */
  readonly arg: ExprNode | null;
  /** count() counts rows, including nulls. */
  readonly countRows: boolean;
}

/** Compiles `sum(amount * 2)` (the argument is any expression) against the input schema. */
export function compileAggregate(name: string, text: string, schema: Schema): CompiledAggregate {
  const ast = parseExpression(text) as unknown as { type: string; callee?: { type: string; name: string }; arguments?: unknown[] };
  const hint = `aggregates: ${Object.keys(FACTORIES).join(', ')}`;
  if (ast.type !== 'CallExpression' || ast.callee?.type !== 'Identifier')
    throw new AbflowError('expression_type', `an aggregate is a call such as count() or sum(amount), got \`${text}\``, { hint });
  const fname = ast.callee.name.toLowerCase();
  const def = FACTORIES[fname];
  if (!def) throw new AbflowError('expression_type', `unknown aggregate ${fname}()`, { hint });
  const args = ast.arguments ?? [];
  if (args.length < def.args[0] || args.length > def.args[1])
    throw new AbflowError(
      'expression_type',
      `${fname}() takes ${def.args[0] === def.args[1] ? def.args[0] : `${def.args[0]} or ${def.args[1]}`} argument(s): ${def.describe}`,
    );
  const arg = args[0] ? compileAst(args[0] as never, text, schema) : null;
  const argType = arg ? (arg.type === 'null' ? null : arg.type) : null;
  if (NUMERIC_ONLY.has(fname) && !numeric(argType)) throw new AbflowError('expression_type', `${fname}() needs a number, got ${argType ?? 'null'}`);
  const literals = args.slice(1).map((a) => {
    const l = a as { type: string; value?: unknown };
    if (l.type !== 'Literal') throw new AbflowError('expression_type', `${fname}(): argument must be a literal`);
    return l.value;
  });
  if ((fname === 'percentile' || fname === 'approx_percentile') && !(typeof literals[0] === 'number' && literals[0] >= 0 && literals[0] <= 1))
    throw new AbflowError('expression_type', `${fname}(x, q) needs q between 0 and 1`);
  return { name, fn: def.make(argType, literals), arg, countRows: fname === 'count' && !arg };
}

/** The value of a vector at a row, or null. */
export function valueOf(v: Vec, i: number): unknown {
  if (v.kind === 'str') return v.v[i] ?? null;
  if (v.valid && v.valid[i] === 0) return null;
  return v.kind === 'bool' ? v.v[i] === 1 : v.v[i];
}
