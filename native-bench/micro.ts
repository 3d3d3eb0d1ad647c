/**
 * Micro-benchmarks (tinybench), each beside a baseline doing the same work in the same run: expression evaluation,
 * JSON lines → Arrow, window assignment and aggregation, hash partitioning, a batch move between threads' formats
 * (IPC encode + decode), ONNX scoring and DuckDB appends.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, DuckDBTimestampTZValue } from '@duckdb/node-api';
import type { RecordBatch, Schema } from 'apache-arrow';
import * as ort from 'onnxruntime-node';
import { Bench } from 'tinybench';
import { duckdb } from '../connectors/duckdb/sink.js';
import { onnxScore } from '../operators/ai/onnx-score.js';
import { readModel } from '../operators/ai/onnx/model.js';
import { windowAggregate } from '../operators/windowed/window-aggregate.js';
import { partitionBatch } from '../engine/runtime/partition.js';
import { windowStart } from '../engine/time/windows.js';
import { derive } from '../operators/stateless/derive.js';
import { paymentsBatch, paymentsOptions } from '../connectors/generate/generators/payments.js';
import { jsonDecode } from '../connectors/jsonl/decode.js';
import { LINES_SCHEMA } from '../connectors/jsonl/lines.js';
import { ColumnBuilder, columnData, makeBatch, numbersOf, rowObject } from '../engine/arrow/columns.js';
import { fromIPC, toIPC } from '../engine/arrow/ipc.js';
import { compileExpression, evalContext } from '../engine/expr/compile.js';
import type { Collector, Operator, OperatorSpec } from '../engine/operator.js';
import { fieldsOf } from '../engine/types.js';
import { REPO_ROOT, type Row } from './report.js';
import { systemClock } from '../engine/time/clock.js';

const MODEL = join(REPO_ROOT, 'models/payments-iforest.onnx');

const N = 8192;
const PREDICATE = "status != 'pending' and amount > 100";
const CASE_EXPR = "round(amount * CASE currency WHEN 'EUR' THEN 1.08 WHEN 'GBP' THEN 1.27 WHEN 'JPY' THEN 0.0067 ELSE 1.0 END, 2)";

const sinkCollector: Collector = { emit() {}, deadLetter() {}, emitWatermark() {} };

/** An operator built as the runtime builds it (config parsed, output schemas computed). */
function build<C>(spec: OperatorSpec<C>, config: unknown, input: Schema): Operator {
  const cfg = spec.config.parse(config);
  return spec.create(cfg, { nodeId: spec.kind, inputs: [input], outputs: spec.outputSchemas(cfg, [input]), clock: systemClock });
}

/** The batch an operator emits on `out` when given `batch`. */
async function emitted(op: Operator, batch: RecordBatch): Promise<RecordBatch> {
  let got: RecordBatch | null = null;
  await op.processBatch(batch, { ...sinkCollector, emit: (b) => void (got = b) }, 0);
  return got!;
}

export async function microBench(): Promise<Row[]> {
  const batch = paymentsBatch(42, Date.UTC(2024, 0, 1), 0, N, paymentsOptions.parse({}));
  // Plain objects for the baselines, with event time as epoch ms (as the engine holds it).
  const objects = Array.from({ length: N }, (_, i) => {
    const o = rowObject(batch, i) as { status: string; amount: number; currency: string; customer_id: string; event_time: string };
    return { ...o, ts: Date.parse(o.event_time) };
  });
  const predicate = compileExpression(PREDICATE, batch.schema);
  const caseExpr = compileExpression(CASE_EXPR, batch.schema);
  const rates: Record<string, number> = { EUR: 1.08, GBP: 1.27, JPY: 0.0067 };

  const lines = objects.map(({ ts: _, ...o }) => JSON.stringify(o));
  const lineCol = new ColumnBuilder('string', N);
  const lenCol = new ColumnBuilder('int64', N);
  for (const l of lines) {
    lineCol.appendString(l);
    lenCol.appendNumber(Buffer.byteLength(l));
  }
  const lineBatch = makeBatch(LINES_SCHEMA, [lineCol.finish(), lenCol.finish()], N);
  const decodeCfg = jsonDecode.config.parse({ schema: Object.fromEntries(fieldsOf(batch.schema).map((f) => [f.name, f.type])), maxLineBytes: 1 << 20 });
  const decoder = jsonDecode.create(decodeCfg, {
    nodeId: 'd',
    inputs: [LINES_SCHEMA],
    outputs: jsonDecode.outputSchemas(decodeCfg, [LINES_SCHEMA]),
    clock: systemClock,
  });
  const lineBytes = lines.reduce((n, l) => n + l.length + 1, 0);

  // Window assignment + aggregation: a 5-minute tumbling count and sum per customer, the feature-store shape.
  const windows = build(
    windowAggregate,
    { keyBy: ['customer_id'], timeColumn: 'event_time', window: { type: 'tumbling', size: '5m' }, aggregates: { n: 'count()', total: 'sum(amount)' } },
    batch.schema,
  );
  const windowMap = new Map<string, { n: number; total: number }>();
  const customerIdx = batch.schema.fields.findIndex((f) => f.name === 'customer_id');

  // ONNX: the payments model's features, scored by the operator and by raw session.run on the same tensor.
  const features = await emitted(
    build(derive, { columns: { amount_usd: 'round(amount * 1.08, 2)', hour_of_day: "extract('hour', event_time)" } }, batch.schema),
    batch,
  );
  const model = readModel(MODEL, undefined);
  const scorer = build(onnxScore, { model: MODEL, sha256: model.sha256 }, features.schema);
  const session = await ort.InferenceSession.create(MODEL, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const amountUsd = numbersOf(
    columnData(
      features,
      features.schema.fields.findIndex((f) => f.name === 'amount_usd'),
    ),
  );
  const hours = numbersOf(
    columnData(
      features,
      features.schema.fields.findIndex((f) => f.name === 'hour_of_day'),
    ),
  );
  const tensor = new ort.Tensor(
    'float32',
    Float32Array.from({ length: 2 * N }, (_, k) => (k % 2 ? hours[k >> 1]! : amountUsd[k >> 1]!)),
    [N, 2],
  );

  // DuckDB appends: the duckdb sink's write (data chunks) against the appender's row-at-a-time API, each committing
  // its batch (the appender's flush outside a transaction commits; the sink commits a checkpoint per batch).
  const dir = mkdtempSync(join(tmpdir(), 'abflow-micro-'));
  const duckSink = duckdb.create(duckdb.config.parse({ path: join(dir, 'sink.duckdb'), table: 'payments' }), {
    nodeId: 'duck',
    clock: systemClock,
    job: 'micro',
    inputs: [batch.schema],
    checkpointing: { resumeFrom: null, lastComplete: null, firstId: 1, durable: false },
  });
  let epoch = 0;
  await duckSink.open?.();
  const inst = await DuckDBInstance.create(join(dir, 'rows.duckdb'));
  const conn = await inst.connect();
  await conn.run(
    'CREATE TABLE payments (payment_id BIGINT, event_time TIMESTAMPTZ, customer_id VARCHAR, merchant_id VARCHAR, amount DOUBLE, currency VARCHAR, status VARCHAR, country VARCHAR, channel VARCHAR, injected VARCHAR)',
  );
  const appender = await conn.createAppender('payments');
  const typed = objects as unknown as Record<string, unknown>[];

  const bench = new Bench({ time: 1000, warmupTime: 200 });
  let sink = 0;
  bench
    .add('expr: predicate (columnar)', () => {
      const v = predicate.eval(evalContext(batch));
      sink += v.v.length;
    })
    .add('expr: predicate (JS loop over objects)', () => {
      let k = 0;
      for (const o of objects) if (o.status !== 'pending' && o.amount > 100) k++;
      sink += k;
    })
    .add('expr: CASE + round (columnar)', () => {
      const v = caseExpr.eval(evalContext(batch));
      sink += v.v.length;
    })
    .add('expr: CASE + round (JS loop over objects)', () => {
      const out = new Float64Array(N);
      for (let i = 0; i < N; i++) out[i] = Math.round(objects[i]!.amount * (rates[objects[i]!.currency] ?? 1) * 100) / 100;
      sink += out.length;
    })
    .add('json → arrow: json_decode', () => {
      decoder.processBatch(lineBatch, sinkCollector, 0);
    })
    .add('json → arrow: JSON.parse only', () => {
      for (const l of lines) sink += (JSON.parse(l) as object) ? 1 : 0;
    })
    .add('window: window_aggregate tumbling count+sum per key', async () => {
      await windows.processBatch(batch, sinkCollector, 0);
    })
    .add('window: JS Map keyed by key and window start', () => {
      for (const o of objects) {
        const k = `${o.customer_id}|${windowStart(o.ts, 300_000)}`;
        const acc = windowMap.get(k);
        if (acc) {
          acc.n++;
          acc.total += o.amount;
        } else windowMap.set(k, { n: 1, total: o.amount });
      }
    })
    .add('hash partition: partitionBatch by key, 2 partitions', () => {
      sink += partitionBatch(batch, [customerIdx], 2).length;
    })
    .add('batch move: IPC encode + decode', () => {
      sink += fromIPC(toIPC(batch)).numRows;
    })
    .add('onnx: onnx_score operator', async () => {
      await scorer.processBatch(features, sinkCollector, 0);
    })
    .add('onnx: raw session.run, same tensor', async () => {
      sink += (await session.run({ features: tensor })).score ? 1 : 0;
    })
    .add('duckdb: duckdb sink write (data chunks)', async () => {
      await duckSink.write(batch, 0);
      await duckSink.preCommit!(++epoch);
      await duckSink.commit!(epoch, []);
    })
    .add('duckdb: appender row by row', () => {
      for (const r of typed) {
        appender.appendBigInt(BigInt(r.payment_id as number));
        appender.appendTimestampTZ(new DuckDBTimestampTZValue(BigInt(r.ts as number) * 1000n));
        for (const c of ['customer_id', 'merchant_id']) appender.appendVarchar(r[c] as string);
        appender.appendDouble(r.amount as number);
        for (const c of ['currency', 'status', 'country', 'channel']) appender.appendVarchar(r[c] as string);
        if (r.injected === null) appender.appendNull();
        else appender.appendVarchar(r.injected as string);
        appender.endRow();
      }
      appender.flushSync();
    });
  await bench.run();
  if (sink < 0) console.error(sink);
  for (const t of bench.tasks) if (t.result?.error) throw new Error(`${t.name}: ${(t.result.error as Error).message}`);
  const hz = (name: string) => bench.tasks.find((t) => t.name === name)!.result!.throughput.mean;
  const pairs: [string, string | undefined, number?][] = [
    ['expr: predicate (columnar)', 'expr: predicate (JS loop over objects)'],
    ['expr: CASE + round (columnar)', 'expr: CASE + round (JS loop over objects)'],
    ['json → arrow: json_decode', 'json → arrow: JSON.parse only', lineBytes],
    ['window: window_aggregate tumbling count+sum per key', 'window: JS Map keyed by key and window start'],
    ['hash partition: partitionBatch by key, 2 partitions', undefined],
    ['batch move: IPC encode + decode', undefined],
    ['onnx: onnx_score operator', 'onnx: raw session.run, same tensor'],
    ['duckdb: duckdb sink write (data chunks)', 'duckdb: appender row by row'],
  ];
  const rows: Row[] = [];
  for (const [name, base, bytes] of pairs) {
    const ops = hz(name);
    rows.push({
      scenario: 'micro',
      name,
      recordsPerSec: ops * N,
      ...(bytes ? { mbPerSec: (ops * bytes) / 1e6 } : {}),
      ...(base ? { ratio: ops / hz(base), baseline: base } : {}),
    });
    if (base) rows.push({ scenario: 'micro', name: base, recordsPerSec: hz(base) * N, ...(bytes ? { mbPerSec: (hz(base) * bytes) / 1e6 } : {}) });
  }
  await duckSink.abort?.();
  appender.closeSync();
  conn.closeSync();
  inst.closeSync();
  rmSync(dir, { recursive: true, force: true });
  return rows;
}
