/**
 * Micro-benchmarks (tinybench), each beside a plain-JS baseline doing the same work in the same run:
 * expression evaluation, JSON lines → Arrow, and a batch move between threads' formats (IPC encode + decode).
 */
import { Bench } from 'tinybench';
import { paymentsBatch, paymentsOptions } from '../connectors/generate/generators/payments.js';
import { jsonDecode } from '../connectors/jsonl/decode.js';
import { LINES_SCHEMA } from '../connectors/jsonl/lines.js';
import { ColumnBuilder, makeBatch, rowObject } from '../engine/arrow/columns.js';
import { fromIPC, toIPC } from '../engine/arrow/ipc.js';
import { compileExpression, evalContext } from '../engine/expr/compile.js';
import type { Collector } from '../engine/operator.js';
import { fieldsOf } from '../engine/types.js';
import type { Row } from './report.js';

const N = 8192;
const PREDICATE = "status != 'pending' and amount > 100";
const CASE_EXPR = "round(amount * CASE currency WHEN 'EUR' THEN 1.08 WHEN 'GBP' THEN 1.27 WHEN 'JPY' THEN 0.0067 ELSE 1.0 END, 2)";

const sinkCollector: Collector = { emit() {}, deadLetter() {}, emitWatermark() {} };

export async function microBench(): Promise<Row[]> {
  const batch = paymentsBatch(42, Date.UTC(2024, 0, 1), 0, N, paymentsOptions.parse({}));
  const objects = Array.from({ length: N }, (_, i) => rowObject(batch, i) as { status: string; amount: number; currency: string });
  const predicate = compileExpression(PREDICATE, batch.schema);
  const caseExpr = compileExpression(CASE_EXPR, batch.schema);
  const rates: Record<string, number> = { EUR: 1.08, GBP: 1.27, JPY: 0.0067 };

  const lines = objects.map((o) => JSON.stringify(o));
  const lineCol = new ColumnBuilder('string', N);
  const lenCol = new ColumnBuilder('int64', N);
  for (const l of lines) {
    lineCol.appendString(l);
    lenCol.appendNumber(Buffer.byteLength(l));
  }
  const lineBatch = makeBatch(LINES_SCHEMA, [lineCol.finish(), lenCol.finish()], N);
  const decodeCfg = jsonDecode.config.parse({ schema: Object.fromEntries(fieldsOf(batch.schema).map((f) => [f.name, f.type])), maxLineBytes: 1 << 20 });
  const decoder = jsonDecode.create(decodeCfg, { nodeId: 'd', inputs: [LINES_SCHEMA], outputs: jsonDecode.outputSchemas(decodeCfg, [LINES_SCHEMA]) });
  const lineBytes = lines.reduce((n, l) => n + l.length + 1, 0);

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
    .add('batch move: IPC encode + decode', () => {
      sink += fromIPC(toIPC(batch)).numRows;
    });
  await bench.run();
  if (sink < 0) console.log(sink);
  const hz = (name: string) => bench.tasks.find((t) => t.name === name)!.result!.throughput.mean;
  const pairs: [string, string | undefined, number?][] = [
    ['expr: predicate (columnar)', 'expr: predicate (JS loop over objects)'],
    ['expr: CASE + round (columnar)', 'expr: CASE + round (JS loop over objects)'],
    ['json → arrow: json_decode', 'json → arrow: JSON.parse only', lineBytes],
    ['batch move: IPC encode + decode', undefined],
  ];
  const rows: Row[] = [];
  for (const [name, base, bytes] of pairs) {
    const ops = hz(name);
    rows.push({ scenario: 'micro', name, recordsPerSec: ops * N, ...(bytes ? { mbPerSec: (ops * bytes) / 1e6 } : {}), ...(base ? { ratio: ops / hz(base), baseline: base } : {}) });
    if (base) rows.push({ scenario: 'micro', name: base, recordsPerSec: hz(base) * N, ...(bytes ? { mbPerSec: (hz(base) * bytes) / 1e6 } : {}) });
  }
  return rows;
}
