/**
 * Warehouse sinks and PostgreSQL CDC, on the machine's PostgreSQL (ABFLOW_BENCH_PG_URL, default
 * postgres://postgres@127.0.0.1:5432/test):
 *
 * - Load: the same generated payments rows into PostgreSQL by `psql \copy` of a CSV file (the baseline), by abflow's
 *   postgres sink and by its duckdb sink, plus DuckDB's own `read_csv` into a table and abflow generating into a
 *   blackhole (the generation cost every abflow row includes). Ratios are against psql COPY.
 * - CDC lag: a writer commits changes at a fixed rate while `postgres_cdc → postgres (append_dedup)` runs with 100 ms
 *   checkpoints; lag is the destination row's landing time minus the source commit time, both from the server clock.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import pg from 'pg';
import { paymentsSchema } from '../connectors/generate/generators/payments.js';
import { createTableSql, POSTGRES } from '../connectors/warehouse/sql.js';
import { fieldsOf } from '../engine/api.js';
import { loadComponents } from '../engine/builtins.js';
import { compilePlan } from '../engine/compile/compile.js';
import { loadPlanText } from '../engine/plan/load.js';
import { Job } from '../engine/runtime/job.js';
import { measure } from './pipeline.js';
import type { Row } from './report.js';

const URL = process.env.ABFLOW_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function sql<T = Record<string, unknown>>(text: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: URL });
  await c.connect();
  try {
    return (await c.query(text)).rows as T[];
  } finally {
    await c.end();
  }
}

async function runPlan(yaml: string): Promise<number> {
  const { registry, modules } = await loadComponents();
  const r = await new Job(await compilePlan(loadPlanText(yaml), registry), { modules }).run();
  return r.rowsOut;
}

const generate = (rows: number) => `{ id: gen, kind: generate, config: { generator: payments, count: ${rows}, seed: 11 } }`;

export async function warehouseBench(rows: number): Promise<Row[]> {
  const dir = join(tmpdir(), 'abflow-bench-warehouse');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const schema = `abflow_bench_${randomBytes(3).toString('hex')}`;
  const csv = join(dir, 'payments.csv');
  // The rows every contender loads: abflow's generator → DuckDB → CSV.
  await runPlan(
    `name: rows\nsources: [${generate(rows)}]\nsinks: [{ id: out, kind: duckdb, inputs: [gen], config: { path: ${JSON.stringify(join(dir, 'rows.duckdb'))}, table: payments } }]`,
  );
  const db = await DuckDBInstance.create(join(dir, 'rows.duckdb'));
  const conn = await db.connect();
  await conn.run(`COPY payments TO '${csv}' (HEADER)`);
  conn.closeSync();
  db.closeSync();
  const bytes = statSync(csv).size;
  await sql(`CREATE SCHEMA ${schema}`);
  const columns = fieldsOf(paymentsSchema);
  await sql(createTableSql(POSTGRES, `${schema}.copied`, columns));

  const psqlCopy = async () => {
    const r = spawnSync('psql', [URL, '-qc', `\\copy ${schema}.copied FROM '${csv}' CSV HEADER`], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`psql: ${r.stderr}`);
    return rows;
  };
  const duckdbCsv = async () => {
    const d = await DuckDBInstance.create(join(dir, 'csv.duckdb'));
    const c = await d.connect();
    await c.run(`CREATE OR REPLACE TABLE payments AS SELECT * FROM read_csv('${csv}')`);
    c.closeSync();
    d.closeSync();
    return rows;
  };
  const abflowInto = (sink: string) => () =>
    runPlan(`name: load\nengine: { parallelism: 2 }\nsources: [${generate(rows)}]\nsinks: [{ id: out, inputs: [gen], ${sink} }]`);
  const baseline = 'psql \\copy of the CSV into PostgreSQL';
  try {
    const load = await measure(
      'warehouse load',
      [
        [baseline, psqlCopy],
        [
          'abflow generate → postgres sink (COPY + commit)',
          abflowInto(`kind: postgres, config: { url: "${URL}", schema: ${schema}, table: abflow_rows, mode: append }`),
        ],
        [
          'abflow generate → duckdb sink',
          abflowInto(`kind: duckdb, config: { path: ${JSON.stringify(join(dir, 'abflow.duckdb'))}, table: payments, mode: append }`),
        ],
        ['abflow generate → blackhole (generation cost alone)', abflowInto('kind: blackhole')],
        ['DuckDB read_csv of the CSV into a table', duckdbCsv],
      ],
      bytes,
      baseline,
    );
    return [...load, await cdcLag(schema, Number(process.env.BENCH_CDC_RATE ?? 2000), Number(process.env.BENCH_CDC_SECONDS ?? 20))];
  } finally {
    await sql(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Changes at `rate` rows/s for `seconds`, through CDC into PostgreSQL; lag percentiles from the server clock. */
async function cdcLag(schema: string, rate: number, seconds: number): Promise<Row> {
  const slot = `${schema}_slot`;
  await sql(`CREATE TABLE ${schema}.lag_src (id bigint PRIMARY KEY, v int)`);
  // The destination as the sink would create it, plus a landing time the database fills on every insert.
  await sql(`CREATE TABLE ${schema}.lag_dst (id bigint, v integer, _ab_cdc_lsn bigint, _ab_cdc_updated_at timestamptz, _ab_cdc_deleted_at timestamptz,
    _ab_cdc_truncated_at timestamptz, landed_at timestamptz DEFAULT clock_timestamp())`);
  const { registry, modules } = await loadComponents();
  const plan = `name: cdc_lag
engine: { linger: 10ms, checkpoint: { interval: 100ms, path: ${JSON.stringify(join(tmpdir(), `${slot}.checkpoints.duckdb`))} } }
sources: [{ id: cdc, kind: postgres_cdc, config: { url: "${URL}", tables: [${schema}.lag_src], slot: ${slot} } }]
sinks: [{ id: out, kind: postgres, inputs: [cdc.lag_src], config: { url: "${URL}", schema: ${schema}, table: lag_dst, mode: append_dedup, primaryKey: [id], cursor: _ab_cdc_lsn } }]
`;
  const job = new Job(await compilePlan(loadPlanText(plan), registry), { modules, fromScratch: true });
  const running = job.run();
  running.catch(() => undefined); // awaited in `finally`; a job failing early must not be an unhandled rejection
  const writer = new pg.Client({ connectionString: URL });
  await writer.connect();
  const perTick = Math.max(1, Math.round(rate / 100));
  let id = 0;
  const start = performance.now();
  try {
    await new Promise((r) => setTimeout(r, 1000)); // the slot and snapshot are ready
    while (performance.now() - start < seconds * 1000) {
      const tick = performance.now();
      const values = Array.from({ length: perTick }, () => `(${++id}, ${id % 100})`).join(', ');
      await writer.query(`INSERT INTO ${schema}.lag_src VALUES ${values}`);
      const wait = 10 - (performance.now() - tick);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    for (let i = 0; i < 600; i++) {
      const [landed] = await sql<{ n: string }>(`SELECT count(*) AS n FROM ${schema}.lag_dst`);
      if (Number(landed!.n) >= id) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await writer.end();
    job.stop();
    await running;
    await sql(`SELECT pg_drop_replication_slot('${slot}')`).catch(() => undefined);
    await sql(`DROP PUBLICATION IF EXISTS ${slot}`);
    rmSync(join(tmpdir(), `${slot}.checkpoints.duckdb`), { force: true });
  }
  const [l] = await sql<{ p50: number; p99: number; n: string }>(
    `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50, percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99, count(*) AS n
     FROM (SELECT extract(epoch FROM landed_at - _ab_cdc_updated_at) * 1000 AS ms FROM ${schema}.lag_dst) x`,
  );
  return {
    scenario: 'cdc lag',
    name: `postgres_cdc → postgres append_dedup at ${rate} changes/s, 100 ms checkpoints (${l!.n} rows)`,
    recordsPerSec: rate,
    latency: { p50Ms: l!.p50, p99Ms: l!.p99 },
  };
}
