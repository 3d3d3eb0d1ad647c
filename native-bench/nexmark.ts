/**
 * Nexmark through the engine: each query of plans/nexmark/ with its sink replaced by a blackhole (as the Nexmark suite
 * does), over the same generated events. Reported as events per CPU-second (Nexmark's cores × time metric: process
 * CPU time, which includes every worker thread and its start-up), beside Flink's published per-core throughput and
 * DuckDB running the same query as one batch SQL statement over the same events, measured in this run.
 * 10 M events by default: Flink's figures come from 100 M-event runs on a running cluster, and over 1 M events the
 * threads' start-up (≈ 0.3 CPU s each, up to 5 threads) is a third of q8's CPU time.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { parse, stringify } from 'yaml';
import { loadComponents } from '../engine/builtins.js';
import { compilePlan } from '../engine/compile/compile.js';
import { loadPlanText } from '../engine/plan/load.js';
import { Job } from '../engine/runtime/job.js';
import { ORACLE } from './baselines/nexmark-sql.js';
import type { Row } from './report.js';

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '../..');

/** Flink's per-core throughput in Nexmark V2 (events/s/core): half of the targets abflow's benchmark issue sets at
 * "2× Flink's published V2 figures" (q0 760 K, q5 150 K, q7 46 K, q8 324 K, q11 92 K). */
const FLINK_PER_CORE: Record<string, number> = { q0: 380_000, q5: 75_000, q7: 23_000, q8: 162_000, q11: 46_000 };
const QUERIES = ['q0', 'q1', 'q2', 'q5', 'q7', 'q8', 'q11'];

function benchPlan(query: string, events: number): string {
  const plan = parse(readFileSync(join(ROOT, `plans/nexmark/${query}.yaml`), 'utf8')) as {
    sources: { config: { count: number } }[];
    sinks: { kind: string; config?: unknown }[];
  };
  plan.sources[0]!.config.count = events;
  for (const s of plan.sinks) {
    s.kind = 'blackhole';
    delete s.config;
  }
  return stringify(plan);
}

/** DuckDB running each query's SQL (native-bench/baselines) over the same events, as one batch statement. */
async function duckdbSeconds(events: number): Promise<Record<string, number>> {
  const { registry, modules } = await loadComponents();
  const db = join(fileURLToPath(new URL('.', import.meta.url)), `../../native-bench/results/nexmark-events-${events}.duckdb`);
  const text = readFileSync(join(ROOT, 'plans/nexmark/events.yaml'), 'utf8')
    .replaceAll('out/nexmark-events.duckdb', db)
    .replace('count: 1000000', `count: ${events}`);
  await new Job(await compilePlan(loadPlanText(text), registry), { modules }).run();
  const inst = await DuckDBInstance.create(':memory:');
  const c = await inst.connect();
  await c.run(`ATTACH '${db}' AS ev (READ_ONLY)`);
  const out: Record<string, number> = {};
  for (const q of QUERIES) {
    const sql = ORACLE[q]?.sql;
    if (!sql) continue;
    const t = performance.now();
    await c.run(`CREATE OR REPLACE TEMP TABLE r AS ${sql}`);
    out[q] = (performance.now() - t) / 1000;
  }
  c.closeSync();
  inst.closeSync();
  return out;
}

export async function nexmarkBench(events: number): Promise<Row[]> {
  const { registry, modules } = await loadComponents();
  const rows: Row[] = [];
  const duck = await duckdbSeconds(events);
  for (const q of QUERIES) {
    const plan = await compilePlan(loadPlanText(benchPlan(q, events)), registry);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await new Job(plan, { modules }).run();
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const perCore = events / cpuSeconds;
    const flink = FLINK_PER_CORE[q];
    rows.push({
      scenario: 'nexmark',
      name: `${q} abflow (events/s per core; ${(events / wall / 1000).toFixed(0)} k/s wall)`,
      recordsPerSec: perCore,
      ...(flink ? { ratio: perCore / flink, baseline: `Flink V2 ${flink / 1000} k/s/core` } : {}),
    });
    if (duck[q])
      rows.push({
        scenario: 'nexmark',
        name: `${q} DuckDB batch SQL (events/s, 2 threads)`,
        recordsPerSec: events / duck[q]!,
        ratio: perCore / (events / duck[q]!),
        baseline: 'abflow per core vs DuckDB',
      });
  }
  return rows;
}
