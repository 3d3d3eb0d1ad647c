/**
 * Scenario (b): the main job, plans/payments.yaml as shipped — derive, ONNX anomaly score on every payment, 5-minute
 * tumbling and 60-minute sliding windows per customer, routing, seven DuckDB tables, checkpoints every second — at
 * parallelism 1 and 2 (scenario (e): the scaling ratio), against its own source alone (the same generated payments
 * into a blackhole) measured in the same run: the ratio says how much of the source's speed the whole job keeps.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { loadComponents } from '../engine/builtins.js';
import { compilePlan } from '../engine/compile/compile.js';
import { loadPlanText } from '../engine/plan/load.js';
import { Job } from '../engine/runtime/job.js';
import { REPO_ROOT, type Row } from './report.js';

interface PlanDoc {
  engine: { parallelism: number; checkpoint?: { path?: string } };
  sources: { config: { count: number } }[];
  operators: { kind: string; config: { model?: string } }[];
  sinks: { id: string; kind: string; inputs: string[]; config?: { path?: string } }[];
}

/** plans/payments.yaml with `rows` payments, its outputs in `dir`, at `parallelism`; `sourceOnly` keeps only the
 * source, into a blackhole. */
function variant(rows: number, dir: string, parallelism: number, sourceOnly: boolean): string {
  const plan = parse(readFileSync(join(REPO_ROOT, 'plans/payments.yaml'), 'utf8')) as PlanDoc;
  plan.sources[0]!.config.count = rows;
  plan.engine.parallelism = parallelism;
  plan.engine.checkpoint = { ...plan.engine.checkpoint, path: join(dir, `checkpoints-${parallelism}-${sourceOnly}`) };
  for (const op of plan.operators) if (op.kind === 'onnx_score') op.config.model = join(REPO_ROOT, op.config.model!);
  for (const s of plan.sinks) if (s.config?.path) s.config.path = join(dir, `payments-${parallelism}.duckdb`);
  if (sourceOnly) {
    plan.operators = [];
    plan.sinks = [{ id: 'sink', kind: 'blackhole', inputs: ['payments'] }];
  }
  return stringify(plan);
}

export async function paymentsBench(rows: number): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'abflow-bench-payments-'));
  const { registry, modules } = await loadComponents();
  const run = async (parallelism: number, sourceOnly = false) => {
    const plan = await compilePlan(loadPlanText(variant(rows, dir, parallelism, sourceOnly)), registry);
    const t = performance.now();
    const r = await new Job(plan, { modules }).run();
    return { rate: (r.rowsIn / (performance.now() - t)) * 1000, rows: r.rowsIn };
  };
  const source = await run(2, true);
  const base = 'generate → blackhole (the source alone)';
  const out: Row[] = [{ scenario: 'b: payments', name: base, rows: source.rows, recordsPerSec: source.rate, ratio: 1, baseline: base }];
  const rates: number[] = [];
  for (const p of [1, 2]) {
    const r = await run(p);
    rates.push(r.rate);
    out.push({
      scenario: 'b: payments',
      name: `plans/payments.yaml (ONNX score, 2 windows, 7 DuckDB tables, checkpoints 1 s), parallelism ${p}`,
      rows: r.rows,
      recordsPerSec: r.rate,
      ratio: r.rate / source.rate,
      baseline: base,
    });
  }
  out.push({ scenario: 'e: scaling', name: 'payments.yaml, parallelism 2 vs 1', ratio: rates[1]! / rates[0]!, baseline: 'parallelism 1' });
  rmSync(dir, { recursive: true, force: true });
  return out;
}
