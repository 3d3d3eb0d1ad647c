/**
 * `npm run bench [-- <scenario> ...]` and `abflow bench [scenario ...]`: runs the named scenarios (default: all),
 * prints a markdown table and writes it with the raw JSON to native-bench/results/ (git-ignored). Speeds are reported
 * as ratios against baselines measured in the same run, never as absolute targets in tests. A scenario that cannot
 * run here (no PostgreSQL for `warehouse`, say) is reported and skipped; the others still run.
 * Environment: BENCH_ROWS (pipeline, airbyte, payments, warehouse, lookup and onnx rows; 1 M), BENCH_LLM_ROWS (llm records,
 * 5000), BENCH_CDC_RATE / BENCH_CDC_SECONDS (CDC lag), BENCH_EVENTS (Nexmark events, 10 M), BENCH_KEYS (window-state
 * keys, 1 M), BENCH_LATENCY_SECONDS (paced run, 10), BENCH_MEMORY_GB (long input, 10), BENCH_KAFKA (a broker's host:port
 * for `kafka`; default: one started from Apache Kafka's jars).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { airbyteBench } from './airbyte.js';
import { kafkaBench } from './kafka.js';
import { checkpointBench } from './checkpoint.js';
import { latencyBench } from './latency.js';
import { lookupBench } from './lookup.js';
import { memoryBench } from './memory.js';
import { microBench } from './micro.js';
import { llmBench, onnxBench } from './ai.js';
import { nabBench } from './nab.js';
import { nexmarkBench } from './nexmark.js';
import { paymentsBench } from './payments.js';
import { windowStateBench } from './window-state.js';
import { pipelineBench } from './pipeline.js';
import { planSizeBench } from './plan-size.js';
import { warehouseBench } from './warehouse.js';
import { AbflowError } from '../engine/errors.js';
import { markdown, REPO_ROOT, type Row, save } from './report.js';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

export const SCENARIOS: Record<string, () => Promise<Row[]>> = {
  micro: microBench,
  pipeline: () => pipelineBench(env('BENCH_ROWS', 1_000_000)),
  airbyte: () => airbyteBench(env('BENCH_ROWS', 1_000_000)),
  payments: () => paymentsBench(env('BENCH_ROWS', 1_000_000)),
  nexmark: () => nexmarkBench(env('BENCH_EVENTS', 10_000_000)),
  latency: () => latencyBench(env('BENCH_LATENCY_SECONDS', 10)),
  memory: () => memoryBench(env('BENCH_MEMORY_GB', 10)),
  'window-state': () => windowStateBench(env('BENCH_KEYS', 1_000_000)),
  checkpoint: checkpointBench,
  warehouse: () => warehouseBench(env('BENCH_ROWS', 1_000_000)),
  lookup: () => lookupBench(env('BENCH_ROWS', 1_000_000)),
  nab: nabBench,
  onnx: () => onnxBench(env('BENCH_ROWS', 1_000_000)),
  llm: () => llmBench(env('BENCH_LLM_ROWS', 5000)),
  'plan-size': planSizeBench,
  kafka: () => kafkaBench(env('BENCH_ROWS', 1_000_000)),
};

const SCENARIO_FLAG = '--scenario=';

/** Runs scenario `name` in a process of its own and returns its rows, so that no scenario measures the leftovers of
 * the ones before it (heap, compiled code, open databases): in one process, Nexmark q0, which runs on the
 * coordinating thread, measured 1.55× Flink per core after eight other scenarios, against 2.13× alone. */
async function isolated(name: string): Promise<Row[]> {
  const child = spawn(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), `${SCENARIO_FLAG}${name}`], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  if (code !== 0) throw new Error(signal ? `its process was killed by ${signal}` : `its process exited with code ${code}`);
  return JSON.parse(out) as Row[];
}

/** Runs `names` (all when empty), each in a process of its own; returns the markdown written to native-bench/results/. */
export async function runBench(names: readonly string[]): Promise<string> {
  const chosen = names.length ? names : Object.keys(SCENARIOS);
  const unknown = chosen.filter((n) => !SCENARIOS[n]);
  if (unknown.length) throw new AbflowError('config', `unknown scenario ${unknown.join(', ')}; scenarios: ${Object.keys(SCENARIOS).join(', ')}`);
  const rows: Row[] = [];
  const failed: string[] = [];
  for (const n of chosen) {
    console.error(`running ${n} …`);
    try {
      const r = await isolated(n);
      rows.push(...r);
      console.error(markdown(r));
    } catch (e) {
      failed.push(`${n}: ${(e as Error).message.split('\n')[0]}`);
      console.error(`${n} could not run: ${(e as Error).message}`);
    }
  }
  const md = save(rows, join(REPO_ROOT, 'native-bench/results'));
  return failed.length ? `${md}\nNot run: ${failed.join('; ')}\n` : md;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  // A scenario's own process (see `isolated`) prints its rows as JSON and exits: open databases and pools would
  // otherwise keep it alive.
  const scenario = process.argv.find((a) => a.startsWith(SCENARIO_FLAG))?.slice(SCENARIO_FLAG.length);
  try {
    if (scenario) process.stdout.write(JSON.stringify(await SCENARIOS[scenario]!()), () => process.exit(0));
    else console.log(await runBench(process.argv.slice(2).filter((a) => !a.startsWith('-'))));
  } catch (e) {
    console.error((e as Error).message);
    process.exit(2);
  }
}
