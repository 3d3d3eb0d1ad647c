/**
 * `npm run bench [-- <scenario> ...]`: runs the named scenarios (default: micro pipeline), prints a markdown table
 * and writes it with the raw JSON to native-bench/results/ (git-ignored). Speeds are reported as ratios against
 * baselines measured in the same run, never as absolute targets in tests.
 * Environment: BENCH_ROWS (pipeline, airbyte, warehouse and onnx rows), BENCH_LLM_ROWS (llm records, 5000), BENCH_CDC_RATE / BENCH_CDC_SECONDS (CDC lag), BENCH_EVENTS (Nexmark events), BENCH_KEYS (window-state keys); 1 M each.
 */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { airbyteBench } from './airbyte.js';
import { checkpointBench } from './checkpoint.js';
import { microBench } from './micro.js';
import { llmBench, onnxBench } from './ai.js';
import { nabBench } from './nab.js';
import { nexmarkBench } from './nexmark.js';
import { windowStateBench } from './window-state.js';
import { pipelineBench } from './pipeline.js';
import { warehouseBench } from './warehouse.js';
import { markdown, type Row, save } from './report.js';

const SCENARIOS: Record<string, () => Promise<Row[]>> = {
  micro: microBench,
  pipeline: () => pipelineBench(Number(process.env.BENCH_ROWS ?? 1_000_000)),
  nexmark: () => nexmarkBench(Number(process.env.BENCH_EVENTS ?? 1_000_000)),
  'window-state': () => windowStateBench(Number(process.env.BENCH_KEYS ?? 1_000_000)),
  checkpoint: checkpointBench,
  nab: nabBench,
  onnx: () => onnxBench(Number(process.env.BENCH_ROWS ?? 1_000_000)),
  llm: () => llmBench(Number(process.env.BENCH_LLM_ROWS ?? 5000)),
  airbyte: () => airbyteBench(Number(process.env.BENCH_ROWS ?? 1_000_000)),
  warehouse: () => warehouseBench(Number(process.env.BENCH_ROWS ?? 1_000_000)),
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = wanted.length ? wanted : Object.keys(SCENARIOS);
const unknown = names.filter((n) => !SCENARIOS[n]);
if (unknown.length) {
  console.error(`unknown scenario ${unknown.join(', ')}; scenarios: ${Object.keys(SCENARIOS).join(', ')}`);
  process.exit(2);
}
const rows: Row[] = [];
for (const n of names) {
  console.error(`running ${n} …`);
  const r = await SCENARIOS[n]!();
  rows.push(...r);
  console.error(markdown(r));
}
const dir = join(fileURLToPath(new URL('.', import.meta.url)), '../../native-bench/results');
save(rows, dir);
console.log(markdown(rows));
