/**
 * `lookup_join` against a 1 M-row DuckDB table of customers: generated payments enriched with their customer's tier
 * and lifetime value. The baseline is the same generated payments into a blackhole with no lookup (the generation
 * cost every run includes). Runs: the cache on with 5 000 customers (hot keys), the cache off, and the cache on with
 * keys spread over all 1 M customers (mostly misses). Each name says the queries the run sent per 10 000 rows.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { duckdbPrivate } from '../engine/duckdb.js';
import { loadComponents } from '../engine/builtins.js';
import { compilePlan } from '../engine/compile/compile.js';
import { loadPlanText } from '../engine/plan/load.js';
import { Job } from '../engine/runtime/job.js';
import { measure } from './pipeline.js';
import type { Row } from './report.js';

const TABLE_ROWS = 1_000_000;

export async function lookupBench(rows: number): Promise<Row[]> {
  const dir = join(tmpdir(), 'abflow-bench-lookup');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const db = join(dir, 'warehouse.duckdb');
  const conn = await duckdbPrivate(db);
  await conn.run(
    `CREATE TABLE customers AS SELECT 'c' || lpad(i::VARCHAR, 6, '0') AS id, ['gold', 'silver', 'bronze'][1 + i % 3] AS tier, i * 0.5 AS ltv FROM range(${TABLE_ROWS}) t(i)`,
  );
  conn.closeSync();
  const { registry, modules } = await loadComponents();
  const queries = new Map<string, number>();
  const run = (name: string, customers: number, lookup: string | null) => async () => {
    const operators = lookup
      ? `operators: [{ id: enriched, kind: lookup_join, inputs: [gen], config: { duckdb: { path: ${JSON.stringify(db)} }, table: customers, on: { customer_id: id }, columns: { tier: string, ltv: float64 }, ${lookup} } }]`
      : '';
    const plan = `name: lookup
engine: { parallelism: 2 }
sources: [{ id: gen, kind: generate, config: { generator: payments, count: ${rows}, seed: 11, options: { customers: ${customers} } } }]
${operators}
sinks: [{ id: out, kind: blackhole, inputs: [${lookup ? 'enriched' : 'gen'}] }]`;
    const r = await new Job(await compilePlan(loadPlanText(plan), registry), { modules }).run();
    const extra = r.nodes.find((n) => n.id === 'enriched')?.extra;
    if (extra) queries.set(name, ((extra.queries ?? 0) / rows) * 10_000);
    return r.rowsOut;
  };
  const baseline = 'generate → blackhole, no lookup';
  const runs: [string, number, string | null][] = [
    [baseline, 5_000, null],
    ['lookup_join, cache on, 5 000 customers', 5_000, 'cache: { maxKeys: 100000, ttl: 5m }'],
    ['lookup_join, cache off, 5 000 customers', 5_000, 'cache: false'],
    ['lookup_join, cache on, 1 M customers', TABLE_ROWS, 'cache: { maxKeys: 100000, ttl: 5m }'],
  ];
  try {
    const measured = await measure(
      'lookup',
      runs.map(([name, customers, lookup]) => [name, run(name, customers, lookup)] as const),
      0,
      baseline,
    );
    return measured.map((r) => {
      const q = queries.get(r.name);
      const { mbPerSec: _bytes, ...row } = r;
      return q === undefined ? row : { ...row, name: `${r.name} (${q.toFixed(1)} queries per 10 k rows)` };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
