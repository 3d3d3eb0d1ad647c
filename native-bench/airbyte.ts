/**
 * Airbyte destination throughput: Airbyte RECORD lines (generated payments, a STREAM state every 10 000 records) →
 * `airbyte_file` → DuckDB with Airbyte's meta columns, committed at every STATE — what `abflow airbyte write` does
 * with its default plan — at parallelism 1 and 2, against the parse-only ceiling (JSON.parse of the same bytes on
 * one core) measured in the same run, and the same plan into a blackhole (decoding and STATE handling alone).
 */
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadComponents } from '../engine/builtins.js';
import { compilePlan } from '../engine/compile/compile.js';
import { loadPlanText } from '../engine/plan/load.js';
import { Job } from '../engine/runtime/scheduler.js';
import { PAYMENTS_JSONL_SCHEMA, writePaymentsJsonl } from './payments-data.js';
import { measure, parseOnly } from './pipeline.js';
import type { Row } from './report.js';

const STATE_EVERY = 10_000;
const JSON_TYPES: Record<string, object> = {
  int64: { type: 'integer' },
  float64: { type: 'number' },
  string: { type: 'string' },
  bool: { type: 'boolean' },
  timestamp: { type: 'string', format: 'date-time', airbyte_type: 'timestamp_with_timezone' },
};

export async function airbyteBench(rows: number): Promise<Row[]> {
  const dir = join(tmpdir(), 'abflow-bench-airbyte');
  const input = join(dir, `payments-${rows}.jsonl`);
  const catalog = join(dir, 'catalog.json');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const properties = Object.fromEntries(Object.entries(PAYMENTS_JSONL_SCHEMA).map(([k, t]) => [k, JSON_TYPES[t] ?? { type: 'string' }]));
  writeFileSync(catalog, JSON.stringify({ streams: [{ stream: { name: 'payments', json_schema: { type: 'object', properties }, supported_sync_modes: ['full_refresh'] }, sync_mode: 'full_refresh', destination_sync_mode: 'append', generation_id: 1, minimum_generation_id: 0, sync_id: 7 }] }));
  let emitted = Date.parse('2024-06-01T00:00:00Z');
  await writePaymentsJsonl(input, rows, (json, i) => {
    const record = `{"type":"RECORD","record":{"stream":"payments","data":${json},"emitted_at":${emitted++}}}`;
    return (i + 1) % STATE_EVERY === 0 || i + 1 === rows
      ? `${record}\n{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"payments"},"stream_state":{"cursor":${i + 1}}},"sourceStats":{"recordCount":${STATE_EVERY}.0}}}`
      : record;
  });
  const bytes = statSync(input).size;
  const { registry, modules } = await loadComponents();
  const engine = async (p: number, into: 'duckdb' | 'blackhole' = 'duckdb') => {
    const db = join(dir, `out-${p}.duckdb`);
    const sink = into === 'duckdb' ? `kind: duckdb, inputs: [input.payments], config: { path: ${JSON.stringify(db)}, table: payments, mode: append }` : 'kind: blackhole, inputs: [input.payments]';
    const plan = `
name: bench_airbyte
engine: { parallelism: ${p}, batchSize: 8192 }
sources:
  - { id: input, kind: airbyte_file, config: { path: ${JSON.stringify(input)}, catalog: ${JSON.stringify(catalog)} } }
sinks:
  - { id: out, ${sink} }
`;
    const r = await new Job(await compilePlan(loadPlanText(plan), registry), { modules }).run();
    return r.rowsOut;
  };
  await parseOnly(input); // warm the page cache and the JIT
  const ceiling = 'parse-only ceiling (JSON.parse, 1 core)';
  const measured = await measure(
    'airbyte',
    [
      [ceiling, () => parseOnly(input)],
      ['abflow RECORD lines → DuckDB, parallelism 1', () => engine(1)],
      ['abflow RECORD lines → DuckDB, parallelism 2', () => engine(2)],
      ['abflow RECORD lines → typed rows (blackhole), parallelism 2', () => engine(2, 'blackhole')],
    ],
    bytes,
    ceiling,
  );
  rmSync(dir, { recursive: true, force: true });
  return measured;
}
