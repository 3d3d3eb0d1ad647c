/**
 * `onnx_score`: runs an ONNX model (onnxruntime-node, in-process) over every batch and appends its outputs as
 * columns. The model is checked against the plan's sha256 when the plan compiles; each pool worker holds one
 * session per model, single-threaded (the pool already runs one batch per core). Feature columns become one
 * [rows, features] tensor straight from the Arrow buffers, scaled by (x − mean) / std when the plan or the model's
 * metadata (model.ts) declares scaling. Outputs of shape [N] or [N, 1] become one column, [N, k] k columns
 * `name_0 … name_{k−1}`; `_ai_model` and `_ai_version` record which model scored the row.
 * Rows with a null or non-finite feature are not scored: they take the failure policy, as does a batch the
 * runtime rejects.
 */
import type * as ort from 'onnxruntime-node';
import {
  AbflowError,
  atPath,
  type ColumnType,
  columnData,
  columnTypeOf,
  defineOperator,
  Field,
  float64Data,
  isValid,
  lazyRequire,
  makeBatch,
  numbersOf,
  type RecordBatch,
  repeatedString,
  requireColumn,
  Schema,
  takeBatch,
  toArrowType,
  vecToData,
  z,
} from '../../engine/api.js';
import { ELEM, type ModelInfo, readModel } from './onnx/model.js';
import { auditBatch, auditConfig, auditedSchemas, auditPorts, audits, type Decision } from './shadow.js';

const config = z
  .object({
    model: z.string().min(1).describe('Path of the .onnx file.'),
    sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'a hex SHA-256 digest')
      .describe('Expected SHA-256 of the file (`sha256sum model.onnx`; `abflow model fit` prints it).'),
    input: z.string().min(1).optional().describe('Model input to feed (default: its only input).'),
    features: z.array(z.string().min(1)).min(1).optional().describe('Columns forming the input tensor, in order (default: the model’s `abflow.features`).'),
    scaling: z
      .record(z.string(), z.object({ mean: z.number(), std: z.number().positive() }).strict())
      .optional()
      .describe('Per feature (x − mean) / std before inference; overrides the model’s `abflow.scaling`.'),
    outputs: z.record(z.string(), z.string().min(1)).optional().describe('Model output → column name (default: every output, under its own name).'),
    onError: z.enum(['dead_letter', 'null_with_error', 'fail']).default('dead_letter').describe('What a row that cannot be scored becomes.'),
    errorColumn: z.string().min(1).default('_ai_error'),
    ...auditConfig,
  })
  .strict();

type Config = z.infer<typeof config>;

interface OutputPlan {
  readonly output: string;
  readonly columns: readonly string[];
  readonly type: ColumnType;
}

function compiled(cfg: Config, input: Schema) {
  const model = readModel(cfg.model, cfg.sha256);
  const tensorInput = cfg.input ? model.inputs.find((i) => i.name === cfg.input) : model.inputs.length === 1 ? model.inputs[0] : undefined;
  if (!tensorInput)
    throw new AbflowError(
      'config',
      cfg.input ? `the model has no input \`${cfg.input}\`` : `the model has ${model.inputs.length} inputs; choose one with \`input\``,
      { path: ['input'], hint: `inputs: ${model.inputs.map((i) => i.name).join(', ')}` },
    );
  if (tensorInput.elemType !== ELEM.FLOAT && tensorInput.elemType !== ELEM.DOUBLE)
    throw new AbflowError('config', `model input \`${tensorInput.name}\` is not a float tensor`, { path: ['model'] });
  const metaFeatures = model.metadata['abflow.features'] ? (JSON.parse(model.metadata['abflow.features']) as string[]) : undefined;
  const features = cfg.features ?? metaFeatures;
  if (!features)
    throw new AbflowError('config', 'the model does not name its features (`abflow.features` metadata); list the columns in `features`', {
      path: ['features'],
    });
  const featureIdx = features.map((f, i) => {
    const idx = atPath(['features', i], () => requireColumn(input, f, []));
    if (!['int32', 'int64', 'float64', 'bool'].includes(columnTypeOf(input.fields[idx]!.type)))
      throw new AbflowError('config', `feature \`${f}\` is ${columnTypeOf(input.fields[idx]!.type)}, not numeric`, { path: ['features', i] });
    return idx;
  });
  const width = tensorInput.dims[1];
  if (tensorInput.dims.length !== 2 || (width !== undefined && width > 0 && width !== features.length))
    throw new AbflowError(
      'config',
      `model input \`${tensorInput.name}\` has shape [${tensorInput.dims.join(', ')}], but ${features.length} features are given`,
      { path: ['features'] },
    );
  const metaScaling = model.metadata['abflow.scaling'] ? (JSON.parse(model.metadata['abflow.scaling']) as { mean: number[]; std: number[] }) : undefined;
  const mean = features.map((f, i) => cfg.scaling?.[f]?.mean ?? (cfg.scaling ? 0 : (metaScaling?.mean[i] ?? 0)));
  const std = features.map((f, i) => cfg.scaling?.[f]?.std ?? (cfg.scaling ? 1 : (metaScaling?.std[i] ?? 1)));
  for (const k of Object.keys(cfg.outputs ?? {}))
    if (!model.outputs.some((o) => o.name === k))
      throw new AbflowError('config', `the model has no output \`${k}\``, {
        path: ['outputs', k],
        hint: `outputs: ${model.outputs.map((o) => o.name).join(', ')}`,
      });
  const outputs: OutputPlan[] = model.outputs
    .filter((o) => !cfg.outputs || o.name in cfg.outputs)
    .map((o) => {
      const name = cfg.outputs?.[o.name] ?? o.name;
      const k = o.dims.length <= 1 ? 1 : o.dims.slice(1).reduce((a, b) => a * b, 1);
      if (k < 1) throw new AbflowError('config', `model output \`${o.name}\` has an unknown width [${o.dims.join(', ')}]`, { path: ['outputs'] });
      const type: ColumnType = o.elemType === ELEM.INT64 ? 'int64' : o.elemType === ELEM.STRING ? 'string' : 'float64';
      return { output: o.name, columns: k === 1 ? [name] : Array.from({ length: k }, (_, i) => `${name}_${i}`), type };
    });
  const added = [
    ...outputs.flatMap((o) => o.columns.map((c) => ({ c, t: o.type }))),
    { c: '_ai_model', t: 'string' as ColumnType },
    { c: '_ai_version', t: 'string' as ColumnType },
    ...(cfg.onError === 'null_with_error' ? [{ c: cfg.errorColumn, t: 'string' as ColumnType }] : []),
  ];
  for (const { c } of added)
    if (input.fields.some((f) => f.name === c)) throw new AbflowError('config', `output column \`${c}\` already exists in the input`, { path: ['outputs'] });
  const scored = new Schema([...input.fields, ...added.map(({ c, t }) => new Field(c, toArrowType(t), true))]);
  return { model, tensorInput: tensorInput.name, double: tensorInput.elemType === ELEM.DOUBLE, featureIdx, mean, std, outputs, scored };
}

/** One session per model per worker thread, single-threaded: parallelism comes from the pool, not from inside ORT. */
const runtime = lazyRequire<typeof import('onnxruntime-node')>(import.meta.url, 'onnxruntime-node');
const sessions = new Map<string, Promise<ort.InferenceSession>>();

function sessionOf(model: ModelInfo): Promise<ort.InferenceSession> {
  let s = sessions.get(model.sha256);
  if (!s)
    sessions.set(
      model.sha256,
      (s = runtime().InferenceSession.create(model.bytes, {
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
      })),
    );
  return s;
}

export const onnxScore = defineOperator({
  kind: 'onnx_score',
  summary: 'Scores rows with an ONNX model in-process (onnxruntime) and appends its outputs as columns.',
  config,
  execution: 'parallel',
  deadLetters: true,
  ports: (cfg) => auditPorts(cfg),
  examples: [
    {
      title: 'Anomaly score from a model trained with `abflow model fit`',
      yaml: 'id: scored\nkind: onnx_score\ninputs: [payments]\nconfig:\n  model: models/payments-iforest.onnx\n  sha256: 5731249655da086ee280eb424c6c8171691d0c5b7371e1865b208ff7c365969f  # printed by abflow model fit\n  outputs: { score: anomaly_score }',
    },
  ],
  display: (cfg) => ({ model: cfg.model, onError: cfg.onError, ...(cfg.shadow ? { shadow: 'yes' } : {}) }),
  resources: (cfg) => [{ kind: 'read', path: cfg.model, at: ['model'] }],
  outputSchemas: (cfg, [input]) => auditedSchemas(cfg, input!, compiled(cfg, input!).scored),
  create(cfg, ctx) {
    const input = ctx.inputs[0]!;
    const c = compiled(cfg, input);
    const F = c.featureIdx.length;
    return {
      async processBatch(batch, out) {
        const t0 = ctx.clock.monotonic();
        const n = batch.numRows;
        const cols = c.featureIdx.map((i) => columnData(batch, i));
        const values = cols.map(numbersOf);
        // The tensor is built for every row in one pass per feature, checking values on the way; only a batch with a
        // null or non-finite feature (rare) is rebuilt without those rows.
        let data: Float32Array | Float64Array = c.double ? new Float64Array(n * F) : new Float32Array(n * F);
        let ok: Uint8Array | null = null;
        for (let f = 0; f < F; f++) {
          const v = values[f]!;
          const mu = c.mean[f]!;
          const sd = c.std[f]!;
          let finite = true;
          for (let r = 0; r < n; r++) {
            const x = v[r]!;
            finite &&= x - x === 0; // false for NaN and ±Infinity
            data[r * F + f] = (x - mu) / sd;
          }
          if (finite && cols[f]!.nullCount === 0) continue;
          ok ??= new Uint8Array(n).fill(1);
          for (let i = 0; i < n; i++) if (!isValid(cols[f]!, i) || !Number.isFinite(v[i]!)) ok[i] = 0;
        }
        const rows = ok ? Int32Array.from({ length: n }, (_, i) => i).filter((i) => ok![i]) : null;
        const m = rows ? rows.length : n;
        if (rows) {
          const kept = c.double ? new Float64Array(m * F) : new Float32Array(m * F);
          for (let r = 0; r < m; r++) for (let f = 0; f < F; f++) kept[r * F + f] = data[rows[r]! * F + f]!;
          data = kept;
        }
        let results: Record<string, ort.Tensor> | undefined;
        let batchError: string | undefined;
        if (m > 0) {
          try {
            const session = await sessionOf(c.model);
            results = await session.run({ [c.tensorInput]: new (runtime().Tensor)(c.double ? 'float64' : 'float32', data, [m, F]) });
          } catch (e) {
            batchError = `inference failed: ${(e as Error).message}`;
          }
        }
        const unscorable = (i: number) =>
          `feature ${c.featureIdx.flatMap((x, f) => (isValid(cols[f]!, i) && Number.isFinite(values[f]![i]!) ? [] : [input.fields[x]!.name])).join(', ')} is null or not a finite number`;
        const reasons: (string | undefined)[] = batchError
          ? new Array<string>(n).fill(batchError)
          : ok
            ? Array.from({ length: n }, (_, i) => (ok![i] ? undefined : unscorable(i)))
            : new Array<undefined>(n);
        const scoredRows = batchError ? new Uint8Array(n) : ok;
        const bad = batchError ? Array.from({ length: n }, (_, i) => i) : ok ? Array.from({ length: n }, (_, i) => i).filter((i) => !ok![i]) : [];
        if (bad.length && cfg.onError === 'fail')
          throw new AbflowError('operator_failed', `onnx_score: ${bad.length} row(s) could not be scored (onError: fail): ${reasons[bad[0]!]}`, {
            nodeId: ctx.nodeId,
          });
        // Outputs scattered back to input rows; rows not scored stay null.
        const row = (r: number) => (rows ? rows[r]! : r);
        const children = [...batch.data.children];
        for (const o of c.outputs) {
          const t = results?.[o.output];
          const k = o.columns.length;
          for (let j = 0; j < k; j++) {
            if (o.type === 'string') {
              const v = new Array<string | null>(n).fill(null);
              if (t) for (let r = 0; r < m; r++) v[row(r)] = String((t.data as string[])[r * k + j]);
              children.push(vecToData({ kind: 'str', v }, 'string', n));
              continue;
            }
            const v = new Float64Array(n);
            if (t) {
              const d = t.data as ArrayLike<number | bigint>;
              if (typeof d[0] === 'bigint') for (let r = 0; r < m; r++) v[row(r)] = Number(d[r * k + j]);
              else if (!rows && k === 1)
                v.set(d as Float32Array | Float64Array); // the common case: one column, every row
              else for (let r = 0; r < m; r++) v[row(r)] = d[r * k + j] as number;
            }
            children.push(o.type === 'float64' ? float64Data(v, scoredRows) : vecToData({ kind: 'num', v, valid: scoredRows }, o.type, n));
          }
        }
        children.push(repeatedString(c.model.name, n, scoredRows), repeatedString(c.model.version, n, scoredRows));
        if (cfg.onError === 'null_with_error') children.push(vecToData({ kind: 'str', v: reasons.map((r) => r ?? null) }, 'string', n));
        const scored: RecordBatch = makeBatch(c.scored, children, n);
        if (audits(cfg)) {
          const latencyMs = (ctx.clock.monotonic() - t0) / Math.max(1, n);
          const added = c.outputs.flatMap((o) => o.columns);
          const base = input.fields.length;
          const decisions: Decision[] = Array.from({ length: n }, (_, i) => ({
            row: i,
            output: reasons[i] ? { error: reasons[i] } : Object.fromEntries(added.map((name, j) => [name, scored.getChildAt(base + j)?.get(i) ?? null])),
            latencyMs,
          }));
          out.emit(
            auditBatch(ctx.nodeId, c.model.name, c.model.version, batch, input, cfg.recordKey ?? [], decisions, ctx.clock.now()),
            'audit',
            Int32Array.from(decisions, (d) => d.row),
          );
        }
        if (cfg.shadow) return out.emit(batch);
        if (!bad.length || cfg.onError === 'null_with_error') return out.emit(scored);
        out.deadLetter(
          bad,
          bad.map((i) => `onnx_score: ${reasons[i]}`),
        );
        const good = Int32Array.from({ length: n }, (_, i) => i).filter((i) => !reasons[i]);
        out.emit(takeBatch(scored, good), 'out', good);
      },
    };
  },
});
