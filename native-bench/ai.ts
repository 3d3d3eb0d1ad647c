/**
 * AI operators' throughput, each against its own bound measured or computed in the same run:
 * - `onnx`: onnx_score on generated payments (1 M rows by default) through the engine, against raw
 *   `session.run` on one core over the same tensors in the same 8192-row batches. The operator's own cost is its
 *   busy time in the workers (tensor building, inference, output columns), so the ratio compares like with like.
 * - `llm`: llm_enrich against the local OpenAI-compatible server (another process) with a fixed latency; the bound
 *   is concurrency × records per request / latency.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { loadComponents } from '../engine/builtins.js';
import { columnData, numbersOf } from '../engine/arrow/columns.js';
import { compilePlan } from '../engine/compile/compile.js';
import { loadPlanText } from '../engine/plan/load.js';
import { Job, type JobResult } from '../engine/runtime/job.js';
import { paymentsBatch, paymentsOptions } from '../connectors/generate/generators/payments.js';
import { readModel } from '../operators/ai/onnx/model.js';
import { TRIAGE_OUTPUT } from './llm-server.js';
import { REPO_ROOT, type Row } from './report.js';

const MODEL = join(REPO_ROOT, 'models/payments-iforest.onnx');

async function run(text: string): Promise<JobResult> {
  const { registry, modules } = await loadComponents();
  return new Job(await compilePlan(loadPlanText(text), registry), { modules }).run();
}

function onnxPlan(rows: number, parallelism: number, score: boolean): string {
  const sha = readModel(MODEL, undefined).sha256;
  return `
name: bench_onnx
engine: { parallelism: ${parallelism}, batchSize: 8192 }
sources:
  - { id: payments, kind: generate, config: { generator: payments, count: ${rows}, seed: 5 } }
operators:
  - id: features
    kind: derive
    inputs: [payments]
    config: { columns: { amount_usd: "round(amount * 1.08, 2)", hour_of_day: "extract('hour', event_time)" } }
${score ? `  - { id: scored, kind: onnx_score, inputs: [features], config: { model: ${JSON.stringify(MODEL)}, sha256: ${sha} } }` : ''}
sinks:
  - { id: sink, kind: blackhole, inputs: [${score ? 'scored' : 'features'}] }
`;
}

/** Raw onnxruntime on one core: the same features, tensors of 8192 rows, the session options onnx_score uses. */
async function rawSessionRun(rows: number): Promise<number> {
  const session = await ort.InferenceSession.create(MODEL, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const tensors: ort.Tensor[] = [];
  const o = paymentsOptions.parse({});
  for (let first = 0; first < rows; first += 8192) {
    const n = Math.min(8192, rows - first);
    const b = paymentsBatch(5, Date.parse('2024-01-01T00:00:00Z'), first, n, o);
    const amount = numbersOf(
      columnData(
        b,
        b.schema.fields.findIndex((f) => f.name === 'amount'),
      ),
    );
    const time = numbersOf(
      columnData(
        b,
        b.schema.fields.findIndex((f) => f.name === 'event_time'),
      ),
    );
    const x = new Float32Array(n * 2);
    for (let i = 0; i < n; i++) {
      x[2 * i] = Math.round(amount[i]! * 1.08 * 100) / 100;
      x[2 * i + 1] = new Date(time[i]!).getUTCHours();
    }
    tensors.push(new ort.Tensor('float32', x, [n, 2]));
  }
  await session.run({ features: tensors[0]! }); // warm-up
  const t = performance.now();
  for (const x of tensors) await session.run({ features: x });
  return (rows / (performance.now() - t)) * 1000;
}

export async function onnxBench(rows: number): Promise<Row[]> {
  const raw = await rawSessionRun(rows);
  const out: Row[] = [{ scenario: 'onnx', name: 'raw session.run, 1 core (baseline)', rows, recordsPerSec: raw, ratio: 1, baseline: 'raw session.run' }];
  for (const p of [1, 2]) {
    const t = performance.now();
    const r = await run(onnxPlan(rows, p, true));
    const rate = (rows / (performance.now() - t)) * 1000;
    out.push({
      scenario: 'onnx',
      name: `generate → derive → onnx_score, ${p} worker${p > 1 ? 's' : ''}`,
      rows,
      recordsPerSec: rate,
      ratio: rate / raw,
      baseline: 'raw session.run',
    });
    if (p === 1) {
      const busy = r.nodes.find((n) => n.id === 'scored')!.busyMs;
      const opRate = (rows / busy) * 1000;
      out.push({
        scenario: 'onnx',
        name: 'onnx_score operator alone (busy time, 1 core)',
        rows,
        recordsPerSec: opRate,
        ratio: opRate / raw,
        baseline: 'raw session.run',
      });
    }
  }
  const t = performance.now();
  await run(onnxPlan(rows, 1, false));
  out.push({ scenario: 'onnx', name: 'same plan without onnx_score, 1 worker', rows, recordsPerSec: (rows / (performance.now() - t)) * 1000 });
  return out;
}

export async function llmBench(rows: number): Promise<Row[]> {
  const latencyMs = 10;
  // The server runs in its own process, so its work does not count against the engine's thread.
  const child = spawn(process.execPath, [fileURLToPath(new URL('./llm-server.js', import.meta.url)), '--port', '0', '--latency', String(latencyMs)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      const m = / on (http:\S+)/.exec(d.toString());
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`the LLM stand-in exited with ${code}`)));
  });
  const server = { url, close: async () => void child.kill() };
  process.env.ABFLOW_BENCH_LLM_KEY ??= 'bench';
  const out: Row[] = [];
  try {
    for (const [concurrency, perRequest] of [
      [8, 1],
      [32, 1],
      [8, 10],
    ] as const) {
      const plan = `
name: bench_llm
engine: { parallelism: 1, batchSize: 1024 }
sources:
  - { id: tickets, kind: generate, config: { generator: tickets, count: ${rows}, seed: 1 } }
operators:
  - id: triage
    kind: llm_enrich
    inputs: [tickets]
    config:
      model: bench
      baseURL: ${server.url}
      apiKeyEnv: ABFLOW_BENCH_LLM_KEY
      prompt: "Ticket {{ticket_id}}: {{subject}}\\n{{body}}"
      output: ${TRIAGE_OUTPUT}
      concurrency: ${concurrency}
      recordsPerRequest: ${perRequest}
      cache: false
sinks:
  - { id: sink, kind: blackhole, inputs: [triage] }
`;
      const t = performance.now();
      await run(plan);
      const rate = (rows / (performance.now() - t)) * 1000;
      const bound = (concurrency * perRequest * 1000) / latencyMs;
      out.push({
        scenario: 'llm',
        name: `llm_enrich, ${concurrency} in flight × ${perRequest} record${perRequest > 1 ? 's' : ''}/request, ${latencyMs} ms latency`,
        rows,
        recordsPerSec: rate,
        ratio: rate / bound,
        baseline: `bound ${bound}/s`,
      });
    }
  } finally {
    await server.close();
  }
  return out;
}
