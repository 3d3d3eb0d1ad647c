/**
 * End-to-end pipeline benchmark: payments JSONL → parse → derive (USD amount, large flag) → filter (drop pending) →
 * route (failed / large / normal) → blackhole, through the engine at parallelism 1 and 2, against baselines measured
 * in the same run on the same bytes:
 * - a hand-written single-threaded Node loop doing the same work (what a serverless function would do);
 * - the parse-only ceiling: chunked newline splitting + JSON.parse of every line on one core.
 */
import { createReadStream, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadComponents } from '../engine/builtins.js';
import { compilePlan } from '../engine/compile/compile.js';
import { loadPlanText } from '../engine/plan/load.js';
import { Job } from '../engine/runtime/job.js';
import { PAYMENTS_JSONL_SCHEMA, writePaymentsJsonl } from './payments-data.js';
import type { Row } from './report.js';

export const RATES: Record<string, number> = { EUR: 1.08, GBP: 1.27, JPY: 0.0067, CAD: 0.73 };
/** The same conversion as a plan expression (and DuckDB SQL). */
export const USD_EXPR = `round(amount * CASE currency ${Object.entries(RATES)
  .map(([c, r]) => `WHEN '${c}' THEN ${r}`)
  .join(' ')} ELSE 1.0 END, 2)`;

function plan(path: string, parallelism: number): string {
  return `
name: bench_pipeline
engine: { parallelism: ${parallelism}, batchSize: 8192 }
sources:
  - id: payments
    kind: jsonl
    config:
      path: ${JSON.stringify(path)}
      schema: ${JSON.stringify(PAYMENTS_JSONL_SCHEMA)}
operators:
  - id: enrich
    kind: derive
    inputs: [payments]
    config:
      columns:
        amount_usd: ${JSON.stringify(USD_EXPR)}
        is_large: "amount_usd >= 1000"
  - id: settled
    kind: filter
    inputs: [enrich]
    config: { where: "status != 'pending'" }
  - id: by_risk
    kind: route
    inputs: [settled]
    config: { routes: { failed: "status = 'failed'", large: is_large }, default: normal }
sinks:
  - { id: sink, kind: blackhole, inputs: [by_risk.failed, by_risk.large, by_risk.normal] }
`;
}

/** Splits a file into lines chunk by chunk (faster than readline) and hands each line to `f`. */
export async function eachLine(path: string, f: (line: string) => void): Promise<void> {
  let carry = '';
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20, encoding: 'utf8' })) {
    const text = carry + (chunk as string);
    let pos = 0;
    for (let nl = text.indexOf('\n', pos); nl >= 0; nl = text.indexOf('\n', pos)) {
      f(text.slice(pos, nl));
      pos = nl + 1;
    }
    carry = text.slice(pos);
  }
  if (carry) f(carry);
}

async function handLoop(path: string): Promise<number> {
  const counts = { failed: 0, large: 0, normal: 0 };
  let rows = 0;
  await eachLine(path, (line) => {
    const r = JSON.parse(line) as { amount: number; currency: string; status: string; event_time: string };
    rows++;
    Date.parse(r.event_time); // the engine types event_time as a timestamp
    const usd = Math.round(r.amount * (RATES[r.currency] ?? 1) * 100) / 100;
    if (r.status === 'pending') return;
    if (r.status === 'failed') counts.failed++;
    else if (usd >= 1000) counts.large++;
    else counts.normal++;
  });
  return rows;
}

export async function parseOnly(path: string): Promise<number> {
  let rows = 0;
  await eachLine(path, (line) => {
    JSON.parse(line);
    rows++;
  });
  return rows;
}

async function timed(f: () => Promise<number>): Promise<{ ms: number; rows: number }> {
  const t0 = performance.now();
  const rows = await f();
  return { ms: performance.now() - t0, rows };
}

/** Runs each named run once, in order, over the same `bytes` of input, and reports its speed as a ratio against the
 * run named `baseline` measured in the same pass. Each run returns the records it processed. */
export async function measure(scenario: string, runs: readonly (readonly [string, () => Promise<number>])[], bytes: number, baseline: string): Promise<Row[]> {
  const results: [string, { ms: number; rows: number }][] = [];
  for (const [name, f] of runs) results.push([name, await timed(f)]);
  const base = results.find(([n]) => n === baseline)![1];
  return results.map(([name, t]) => ({
    scenario,
    name,
    rows: t.rows,
    recordsPerSec: (t.rows / t.ms) * 1000,
    mbPerSec: (bytes / 1e6 / t.ms) * 1000,
    ratio: base.ms / t.ms,
    baseline,
  }));
}

export async function pipelineBench(rows: number): Promise<Row[]> {
  const path = join(tmpdir(), `abflow-bench-payments-${rows}.jsonl`);
  await writePaymentsJsonl(path, rows);
  const bytes = statSync(path).size;
  const { registry, modules } = await loadComponents();
  const engine = async (p: number) => {
    const compiled = await compilePlan(loadPlanText(plan(path, p)), registry);
    const r = await new Job(compiled, { modules }).run();
    return r.rowsIn;
  };
  await parseOnly(path); // warm the page cache and the JIT
  return measure(
    'pipeline',
    [
      ['parse-only ceiling (JSON.parse, 1 core)', () => parseOnly(path)],
      ['hand-written loop (1 core)', () => handLoop(path)],
      ['abflow parallelism 1', () => engine(1)],
      ['abflow parallelism 2', () => engine(2)],
    ],
    bytes,
    'hand-written loop (1 core)',
  );
}
