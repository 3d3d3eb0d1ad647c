/**
 * `abflow model fit`: trains an anomaly model on a table and writes it as ONNX, for `onnx_score`.
 * - `isolation_forest` (Liu, Ting & Zhou 2008, as scikit-learn's IsolationForest): random axis-parallel splits on
 *   subsamples; the ONNX graph is an `ai.onnx.ml` TreeEnsembleRegressor averaging path lengths (leaf depth plus the
 *   expected depth c(n) of the n training points left in the leaf), then score = 2^(−E[h] / c(ψ)), the same graph
 *   skl2onnx emits for scikit-learn.
 * - `mahalanobis`: a robust Gaussian. Mean and covariance are refitted on the 90 % of points nearest the current fit
 *   (concentration steps, as in the MCD estimator), so the anomalies in the training data do not inflate it; the
 *   graph computes d² = zᵀ Σ⁻¹ z on standardised features and score = d² / (d² + features) (monotone, 0.5 at the
 *   typical squared distance, never saturating).
 * The table is read with DuckDB (Parquet files or a parquet sink's folder, JSONL/CSV files, or a table of a DuckDB
 * database); 20 % of the rows are
 * held out to report score quantiles, the threshold at the expected contamination, and, given a label column,
 * ROC AUC and precision/recall at that threshold.
 */
import { createHash } from 'node:crypto';
import { statSync, writeFileSync } from 'node:fs';
import { AbflowError, duckdbPrivate } from '../../../engine/api.js';
import { buildModel, floats, floatTensor, type GraphSpec, int64Tensor, node } from './model.js';

export type ModelKind = 'isolation_forest' | 'mahalanobis';

export interface FitOptions {
  readonly input: string;
  /** Table name when `input` is a DuckDB database. */
  readonly table?: string;
  readonly features: readonly string[];
  readonly kind: ModelKind;
  readonly out: string;
  readonly trees?: number;
  readonly sampleSize?: number;
  readonly contamination?: number;
  readonly seed?: number;
  readonly label?: string;
  readonly name?: string;
}

export interface FitReport {
  readonly kind: ModelKind;
  readonly rows: number;
  readonly trainRows: number;
  readonly holdoutRows: number;
  readonly threshold: number;
  readonly quantiles: Record<string, number>;
  readonly auc?: number;
  readonly precision?: number;
  readonly recall?: number;
  readonly sha256: string;
  readonly version: string;
}

/** xorshift32: training is reproducible from `seed`. */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

/** Expected path length of an unsuccessful search in a binary search tree of n points (the iForest paper's c(n)). */
export function averagePathLength(n: number): number {
  if (n <= 1) return 0;
  if (n === 2) return 1;
  return 2 * (Math.log(n - 1) + 0.5772156649015329) - (2 * (n - 1)) / n;
}

interface Tree {
  /** Per node: feature (−1 for a leaf), threshold, left child, right child, leaf value. */
  feature: number[];
  threshold: number[];
  left: number[];
  right: number[];
  value: number[];
}

/** Builds isolation trees over rows (arrays of F features). Thresholds are float32, as ONNX stores them. */
export function isolationForest(rows: readonly Float64Array[], trees: number, sampleSize: number, random: () => number): { trees: Tree[]; psi: number } {
  const psi = Math.min(sampleSize, rows.length);
  const maxDepth = Math.ceil(Math.log2(Math.max(psi, 2)));
  const F = rows[0]?.length ?? 0;
  const out: Tree[] = [];
  for (let t = 0; t < trees; t++) {
    const idx = Array.from({ length: rows.length }, (_, i) => i);
    for (let i = 0; i < psi; i++) {
      const j = i + Math.floor(random() * (idx.length - i));
      [idx[i], idx[j]] = [idx[j]!, idx[i]!];
    }
    const tree: Tree = { feature: [], threshold: [], left: [], right: [], value: [] };
    const grow = (sample: number[], depth: number): number => {
      const id = tree.feature.length;
      tree.feature.push(-1);
      tree.threshold.push(0);
      tree.left.push(-1);
      tree.right.push(-1);
      tree.value.push(depth + averagePathLength(sample.length));
      if (depth >= maxDepth || sample.length <= 1) return id;
      // A random feature among those not constant in this node (scikit-learn draws until it finds one).
      const candidates: [number, number, number][] = [];
      for (let f = 0; f < F; f++) {
        let lo = Infinity;
        let hi = -Infinity;
        for (const r of sample) {
          const v = rows[r]![f]!;
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
        if (Math.fround(hi) > Math.fround(lo)) candidates.push([f, lo, hi]);
      }
      if (!candidates.length) return id;
      const [f, lo, hi] = candidates[Math.floor(random() * candidates.length)]!;
      let split = Math.fround(lo + random() * (hi - lo));
      if (split >= Math.fround(hi)) split = Math.fround(lo);
      const left = sample.filter((r) => Math.fround(rows[r]![f]!) <= split);
      const right = sample.filter((r) => Math.fround(rows[r]![f]!) > split);
      tree.feature[id] = f;
      tree.threshold[id] = split;
      tree.left[id] = grow(left, depth + 1);
      tree.right[id] = grow(right, depth + 1);
      return id;
    };
    grow(idx.slice(0, psi), 0);
    out.push(tree);
  }
  return { trees: out, psi };
}

/** The same scores as the ONNX graph, in float64, for validation statistics. */
export function isolationScore(forest: { trees: Tree[]; psi: number }, x: Float64Array): number {
  let sum = 0;
  for (const t of forest.trees) {
    let n = 0;
    while (t.feature[n]! >= 0) n = Math.fround(x[t.feature[n]!]!) <= t.threshold[n]! ? t.left[n]! : t.right[n]!;
    sum += t.value[n]!;
  }
  return 2 ** (-(sum / forest.trees.length) / averagePathLength(forest.psi));
}

function isolationGraph(forest: { trees: Tree[]; psi: number }, F: number, metadata: Record<string, string>): Uint8Array {
  const a = {
    treeids: [] as number[],
    nodeids: [] as number[],
    featureids: [] as number[],
    values: [] as number[],
    modes: [] as string[],
    trueids: [] as number[],
    falseids: [] as number[],
  };
  const leaves = { treeids: [] as number[], nodeids: [] as number[], ids: [] as number[], weights: [] as number[] };
  forest.trees.forEach((t, ti) => {
    for (let n = 0; n < t.feature.length; n++) {
      const leaf = t.feature[n]! < 0;
      a.treeids.push(ti);
      a.nodeids.push(n);
      a.featureids.push(leaf ? 0 : t.feature[n]!);
      a.values.push(leaf ? 0 : t.threshold[n]!);
      a.modes.push(leaf ? 'LEAF' : 'BRANCH_LEQ');
      a.trueids.push(leaf ? 0 : t.left[n]!);
      a.falseids.push(leaf ? 0 : t.right[n]!);
      if (leaf) {
        leaves.treeids.push(ti);
        leaves.nodeids.push(n);
        leaves.ids.push(0);
        leaves.weights.push(t.value[n]!);
      }
    }
  });
  const g: GraphSpec = {
    features: F,
    usesMl: true,
    metadata,
    outputs: ['score'],
    initializers: [floatTensor('c_psi', [1], [averagePathLength(forest.psi)]), floatTensor('two', [1], [2])],
    nodes: [
      node(
        'TreeEnsembleRegressor',
        ['features'],
        ['path_length'],
        {
          n_targets: 1,
          aggregate_function: 'AVERAGE',
          nodes_treeids: a.treeids,
          nodes_nodeids: a.nodeids,
          nodes_featureids: a.featureids,
          nodes_values: floats('nodes_values', a.values),
          nodes_modes: a.modes,
          nodes_truenodeids: a.trueids,
          nodes_falsenodeids: a.falseids,
          target_treeids: leaves.treeids,
          target_nodeids: leaves.nodeids,
          target_ids: leaves.ids,
          target_weights: floats('target_weights', leaves.weights),
        },
        'ai.onnx.ml',
      ),
      node('Div', ['path_length', 'c_psi'], ['relative']),
      node('Neg', ['relative'], ['exponent']),
      node('Pow', ['two', 'exponent'], ['score']),
    ],
  };
  return buildModel(g);
}

/** Robust mean/covariance of standardised rows by concentration steps; returns the precision matrix. */
export function robustGaussian(z: readonly Float64Array[], keep = 0.9, steps = 5): { precision: number[][] } {
  const F = z[0]?.length ?? 0;
  let subset = z;
  let precision: number[][] = [];
  for (let s = 0; s <= steps; s++) {
    const mean = new Array<number>(F).fill(0);
    for (const r of subset) for (let f = 0; f < F; f++) mean[f]! += r[f]! / subset.length;
    const cov = Array.from({ length: F }, () => new Array<number>(F).fill(0));
    for (const r of subset)
      for (let i = 0; i < F; i++) for (let j = 0; j < F; j++) cov[i]![j]! += ((r[i]! - mean[i]!) * (r[j]! - mean[j]!)) / Math.max(1, subset.length - 1);
    for (let i = 0; i < F; i++) cov[i]![i]! += 1e-6; // ridge: a constant feature must not make Σ singular
    precision = invert(cov);
    const d = z.map((r) => mahalanobis2(precision, r));
    if (s === steps) {
      // Consistency: a covariance fitted on the nearest points underestimates the spread; rescale so the median
      // squared distance is the χ² median, as the MCD estimator does.
      const chi2Median = F * (1 - 2 / (9 * F)) ** 3;
      const factor = [...d].sort((a, b) => a - b)[Math.floor(d.length / 2)]! / chi2Median;
      precision = precision.map((row) => row.map((v) => v / factor));
      break;
    }
    const cut = [...d].sort((a, b) => a - b)[Math.floor(keep * (d.length - 1))]!;
    subset = z.filter((_, i) => d[i]! <= cut);
  }
  return { precision };
}

export function mahalanobis2(p: readonly number[][], z: Float64Array): number {
  let s = 0;
  for (let i = 0; i < p.length; i++) for (let j = 0; j < p.length; j++) s += z[i]! * p[i]![j]! * z[j]!;
  return s;
}

function invert(m: number[][]): number[][] {
  const n = m.length;
  const a = m.map((r, i) => [...r, ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r]![c]!) > Math.abs(a[p]![c]!)) p = r;
    [a[c], a[p]] = [a[p]!, a[c]!];
    const d = a[c]![c]!;
    if (Math.abs(d) < 1e-12) throw new AbflowError('config', 'the features are linearly dependent; drop one of them');
    for (let j = 0; j < 2 * n; j++) a[c]![j]! /= d;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = a[r]![c]!;
      for (let j = 0; j < 2 * n; j++) a[r]![j]! -= f * a[c]![j]!;
    }
  }
  return a.map((r) => r.slice(n));
}

function mahalanobisGraph(precision: number[][], F: number, metadata: Record<string, string>): Uint8Array {
  return buildModel({
    features: F,
    metadata,
    outputs: ['score', 'distance'],
    initializers: [floatTensor('precision', [F, F], precision.flat()), int64Tensor('axis', [1], [1]), floatTensor('dims', [1], [F])],
    nodes: [
      node('MatMul', ['features', 'precision'], ['projected']),
      node('Mul', ['projected', 'features'], ['terms']),
      node('ReduceSum', ['terms', 'axis'], ['distance'], { keepdims: 1 }),
      node('Add', ['distance', 'dims'], ['denominator']),
      node('Div', ['distance', 'denominator'], ['score']),
    ],
  });
}

/** ROC AUC by the rank-sum (Mann–Whitney) formula, ties counted half. */
export function rocAuc(scores: readonly number[], labels: readonly boolean[]): number {
  const order = scores.map((s, i) => [s, i] as const).sort((a, b) => a[0] - b[0]);
  let rankSum = 0;
  let pos = 0;
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j < order.length && order[j]![0] === order[i]![0]) j++;
    const rank = (i + j + 1) / 2;
    for (let k = i; k < j; k++) if (labels[order[k]![1]]) ((rankSum += rank), pos++);
    i = j;
  }
  const neg = scores.length - pos;
  return pos && neg ? (rankSum - (pos * (pos + 1)) / 2) / (pos * neg) : NaN;
}

const quantile = (sorted: readonly number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

async function readTable(o: FitOptions): Promise<{ x: Float64Array[]; labels?: boolean[] }> {
  const c = await duckdbPrivate();
  try {
    const q = (s: string) => `'${s.replaceAll("'", "''")}'`;
    let from: string;
    if (/\.duckdb$|\.db$/.test(o.input)) {
      if (!o.table) throw new AbflowError('config', `--table is needed to read from the DuckDB database ${o.input}`);
      await c.run(`ATTACH ${q(o.input)} AS src (READ_ONLY)`);
      from = `src.${o.table
        .split('.')
        .map((p) => `"${p.replaceAll('"', '""')}"`)
        .join('.')}`;
    } else if (statSync(o.input, { throwIfNoEntry: false })?.isDirectory())
      from = `read_parquet(${q(o.input + '/*.parquet')})`; // a parquet sink's folder
    else if (/\.parquet$/.test(o.input)) from = `read_parquet(${q(o.input)})`;
    else if (/\.jsonl?$|\.ndjson$/.test(o.input)) from = `read_json_auto(${q(o.input)}, format = 'newline_delimited')`;
    else if (/\.csv$/.test(o.input)) from = `read_csv_auto(${q(o.input)})`;
    else throw new AbflowError('config', `cannot tell the format of ${o.input}: use a .parquet, .jsonl, .csv or .duckdb file`);
    const cols = o.features.map((f) => `CAST("${f.replaceAll('"', '""')}" AS DOUBLE)`).join(', ');
    const label = o.label ? `, CAST("${o.label.replaceAll('"', '""')}" AS BOOLEAN)` : '';
    const notNull = o.features.map((f) => `"${f.replaceAll('"', '""')}" IS NOT NULL`).join(' AND ');
    const rows = (
      await c.runAndReadAll(`SELECT ${cols}${label} FROM ${from} WHERE ${notNull}`).catch((e: Error) => {
        throw new AbflowError('config', `reading ${o.input}: ${e.message}`);
      })
    ).getRows();
    const F = o.features.length;
    return { x: rows.map((r) => Float64Array.from(r.slice(0, F) as number[])), ...(o.label ? { labels: rows.map((r) => r[F] === true) } : {}) };
  } finally {
    c.closeSync();
  }
}

export async function fitModel(o: FitOptions): Promise<FitReport> {
  const { x, labels } = await readTable(o);
  if (x.length < 10) throw new AbflowError('config', `${o.input} has ${x.length} complete rows; at least 10 are needed to fit a model`);
  const random = rng(o.seed ?? 42);
  const order = Array.from({ length: x.length }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const cut = Math.floor(order.length * 0.8);
  const train = order.slice(0, cut);
  const holdout = order.slice(cut);
  const F = o.features.length;
  const mean = new Array<number>(F).fill(0);
  const std = new Array<number>(F).fill(0);
  for (const i of train) for (let f = 0; f < F; f++) mean[f]! += x[i]![f]! / train.length;
  for (const i of train) for (let f = 0; f < F; f++) std[f]! += (x[i]![f]! - mean[f]!) ** 2 / Math.max(1, train.length - 1);
  for (let f = 0; f < F; f++) std[f] = Math.sqrt(std[f]!) || 1;
  const metadata: Record<string, string> = { 'abflow.features': JSON.stringify(o.features), 'abflow.name': o.name ?? `${o.kind}`, 'abflow.kind': o.kind };
  let score: (r: Float64Array) => number;
  let bytes: (meta: Record<string, string>) => Uint8Array;
  if (o.kind === 'isolation_forest') {
    const forest = isolationForest(
      train.map((i) => x[i]!),
      o.trees ?? 100,
      o.sampleSize ?? 256,
      random,
    );
    score = (r) => isolationScore(forest, r);
    bytes = (meta) => isolationGraph(forest, F, meta);
  } else {
    // Scores are computed on standardised features, which onnx_score applies from `abflow.scaling`.
    const z = (r: Float64Array) => Float64Array.from(r, (v, f) => Math.fround((v - mean[f]!) / std[f]!));
    const { precision } = robustGaussian(train.map((i) => z(x[i]!)));
    score = (r) => {
      const d = mahalanobis2(precision, z(r));
      return d / (d + F);
    };
    metadata['abflow.scaling'] = JSON.stringify({ mean, std });
    bytes = (meta) => mahalanobisGraph(precision, F, meta);
  }
  const trainScores = train.map((i) => score(x[i]!)).sort((a, b) => a - b);
  const threshold = quantile(trainScores, 1 - (o.contamination ?? 0.01));
  const hold = holdout.map((i) => score(x[i]!));
  const sorted = [...hold].sort((a, b) => a - b);
  const quantiles = { p50: quantile(sorted, 0.5), p90: quantile(sorted, 0.9), p99: quantile(sorted, 0.99), max: sorted[sorted.length - 1]! };
  metadata['abflow.threshold'] = String(threshold);
  const version = new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '');
  metadata['abflow.version'] = version;
  const model = bytes(metadata);
  writeFileSync(o.out, model);
  const report: FitReport = {
    kind: o.kind,
    rows: x.length,
    trainRows: train.length,
    holdoutRows: holdout.length,
    threshold,
    quantiles,
    sha256: createHash('sha256').update(model).digest('hex'),
    version,
  };
  if (!labels) return report;
  const y = holdout.map((i) => labels[i]!);
  const flagged = hold.map((s) => s > threshold);
  const tp = flagged.filter((f, k) => f && y[k]).length;
  return { ...report, auc: rocAuc(hold, y), precision: tp / Math.max(1, flagged.filter(Boolean).length), recall: tp / Math.max(1, y.filter(Boolean).length) };
}
