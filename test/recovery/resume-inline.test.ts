/**
 * A job stopped or cut off after a checkpoint and run again equals a job that ran through: windows (tumbling and
 * sliding, per key), late rows, the input's own table — row for row. In this process, inline (engine.inline), through the real
 * coordinator, checkpoint store, keyed snapshots and restores, source resume and DuckDB sinks; the CLI crash tests
 * (crash.test.ts) kill the real process. A graceful stop keeps windows open across runs; a cut (terminate) aborts the
 * sinks, so the next run replays from the checkpoint.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadComponents } from '../../engine/builtins.js';
import { compilePlan } from '../../engine/compile/compile.js';
import { loadPlanText } from '../../engine/plan/load.js';
import { Job } from '../../engine/runtime/job.js';
import { tempDir } from '../kit/cli.js';
import { rows } from '../kit/duckdb.js';

/** Paced (10 000 rows/s), so the first checkpoint, every 20 ms, comes early in the input on any machine. */
const ROWS = 5_000;
const TABLES = ['features_5m', 'features_60m', 'late', 'payments'];

const plan = (dir: string) => `
name: resume
engine: { inline: true, parallelism: 2, batchSize: 250, linger: 10ms, queueCapacity: 2, checkpoint: { interval: 20ms, path: ${join(dir, 'cp.duckdb')} } }
sources:
  - { id: payments, kind: generate, config: { generator: payments, count: ${ROWS}, seed: 11, rowsPerSecond: 10000 } }
operators:
  - { id: event_time, kind: watermark, inputs: [payments], config: { column: event_time, maxOutOfOrderness: 10s } }
  - id: w5
    kind: window_aggregate
    inputs: [event_time]
    config: { keyBy: [customer_id], timeColumn: event_time, window: { type: tumbling, size: 5m }, aggregates: { n: count(), amount: sum(amount) } }
  - id: w60
    kind: window_aggregate
    inputs: [event_time]
    config: { keyBy: [customer_id], timeColumn: event_time, window: { type: sliding, size: 60m, slide: 5m }, aggregates: { n: count() } }
  - { id: too_late, kind: union, inputs: [w5.late, w60.late] }
sinks:
  - { id: s5, kind: duckdb, inputs: [w5], config: { path: ${join(dir, 'out.duckdb')}, table: features_5m } }
  - { id: s60, kind: duckdb, inputs: [w60], config: { path: ${join(dir, 'out.duckdb')}, table: features_60m } }
  - { id: sl, kind: duckdb, inputs: [too_late], config: { path: ${join(dir, 'out.duckdb')}, table: late } }
  - { id: sp, kind: duckdb, inputs: [payments], config: { path: ${join(dir, 'out.duckdb')}, table: payments } }
`;

/** Runs the plan in `dir`; `interrupt` is called with the job at its first checkpoint. */
async function run(dir: string, interrupt?: (job: Job) => void) {
  const { registry, modules } = await loadComponents();
  let checkpoints = 0;
  const job: Job = new Job(await compilePlan(loadPlanText(plan(dir)), registry), {
    modules,
    onCheckpoint: () => {
      if (++checkpoints === 1) interrupt?.(job);
    },
  });
  return job.run();
}

/** Every table as sorted rows. */
async function tables(dir: string): Promise<Record<string, unknown[][]>> {
  const out: Record<string, unknown[][]> = {};
  for (const t of TABLES) out[t] = await rows(join(dir, 'out.duckdb'), `SELECT * FROM ${t} ORDER BY ALL`);
  return out;
}

describe('resume, inline', () => {
  let reference: Record<string, unknown[][]>;

  it('a run through', async () => {
    const dir = tempDir();
    const result = await run(dir);
    expect(result.resumedFrom).toBeNull();
    reference = await tables(dir);
    expect(reference.features_5m!.length).toBeGreaterThan(500);
    expect(reference.payments!.length).toBe(ROWS);
  });

  it('stopped gracefully at a checkpoint, then run again: the same tables', async () => {
    const dir = tempDir();
    const first = await run(dir, (job) => job.stop());
    expect(first.stopped).toBe(true);
    const partial = await tables(dir);
    expect(partial.payments!.length).toBeLessThan(ROWS);
    const second = await run(dir);
    expect(second.resumedFrom).not.toBeNull();
    expect(await tables(dir)).toEqual(reference);
  });

  it('cut off at a checkpoint (terminated: sinks abort), then run again: the same tables', async () => {
    const dir = tempDir();
    await expect(run(dir, (job) => void job.terminate('cut by the test'))).rejects.toThrow(/cut by the test/);
    const second = await run(dir);
    expect(second.resumedFrom).not.toBeNull();
    expect(await tables(dir)).toEqual(reference);
  });
});
