/**
 * Scenario (d): end-to-end latency of a stateless plan (generate → derive → filter → blackhole) at half its peak
 * throughput. The peak is measured first in the same run (the same plan, unpaced); then the source is paced at half
 * of it with event times on the wall clock (`start: now`), and the blackhole measures, per row, the wall clock at the
 * sink minus the row's event time. A paced batch leaves the source when its last row is due, so the figure includes
 * batching (the linger). The first 2 s are JIT warm-up and not measured, as steady-state latency benchmarks do.
 */
import { loadComponents } from '../engine/builtins.js';
import { compilePlan } from '../engine/compile/compile.js';
import { loadPlanText } from '../engine/plan/load.js';
import { Job } from '../engine/runtime/job.js';
import { USD_EXPR } from './pipeline.js';
import type { Row } from './report.js';

const LINGER_MS = 10;

function plan(count: number, rowsPerSecond: number | null): string {
  const pace = rowsPerSecond ? `, start: now, rowsPerSecond: ${rowsPerSecond}` : '';
  return `
name: bench_latency
engine: { parallelism: 2, batchSize: 8192, linger: ${LINGER_MS}ms }
sources:
  - id: payments
    kind: generate
    config: { generator: payments, count: ${count}${pace}, options: { eventsPerSecond: ${rowsPerSecond ?? 50}, lateFraction: 0 } }
operators:
  - { id: enrich, kind: derive, inputs: [payments], config: { columns: { amount_usd: ${JSON.stringify(USD_EXPR)}, is_large: "amount_usd >= 1000" } } }
  - { id: settled, kind: filter, inputs: [enrich], config: { where: "status != 'pending'" } }
sinks:
  - { id: sink, kind: blackhole, inputs: [settled], config: { latencyFrom: event_time, latencyWarmup: 2s } }
`;
}

export async function latencyBench(seconds: number): Promise<Row[]> {
  const { registry, modules } = await loadComponents();
  const run = async (count: number, rate: number | null) => {
    const t = performance.now();
    const r = await new Job(await compilePlan(loadPlanText(plan(count, rate)), registry), { modules }).run();
    const sink = r.nodes.find((n) => n.id === 'sink')!.extra ?? {};
    return { rate: (r.rowsIn / (performance.now() - t)) * 1000, p50: sink.latency_p50_ms ?? NaN, p99: sink.latency_p99_ms ?? NaN };
  };
  const peak = await run(2_000_000, null);
  const half = Math.round(peak.rate / 2);
  const paced = await run(half * (seconds + 2), half);
  const name = `stateless plan at half its peak (${(half / 1000).toFixed(0)} k rows/s), linger ${LINGER_MS} ms, parallelism 2`;
  return [
    { scenario: 'd: latency', name: 'peak (same plan, unpaced)', recordsPerSec: peak.rate },
    { scenario: 'd: latency', name, recordsPerSec: half, ratio: half / peak.rate, baseline: 'peak', latency: { p50Ms: paced.p50, p99Ms: paced.p99 } },
  ];
}
