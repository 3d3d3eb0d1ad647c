/**
 * Exactly-once recovery, as users rely on it: plans/payments.yaml (windows + DuckDB sinks, checkpoints every second)
 * is killed with SIGKILL at ≥ 10 random points and restarted after each; the final tables equal those of a run
 * without crashes — no lost rows, no duplicates, identical window results. Also: checkpoints taken at parallelism 1
 * restore at parallelism 2, and a damaged latest checkpoint is reported and the previous one used.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { beforeAll, describe, expect, it } from 'vitest';
import { CheckpointStore } from '../../engine/state/store.js';
import { abflow, ROOT, runCli, tempDir } from '../kit/cli.js';

const PLAN = join(ROOT, 'plans/payments.yaml');
const TABLES = ['payments', 'failed_payments', 'large_payments', 'customer_features_5m', 'customer_features_60m', 'late_payments'];

/** Runs the plan; with `killAfterMs`, SIGKILLs it then (if it is still running). */
function run(cwd: string, args: string[] = [], killAfterMs?: number, plan = PLAN) {
  return runCli(['run', plan, ...args], { cwd, ...(killAfterMs === undefined ? {} : { killAfterMs }) });
}

/** The CLI's line for a completed checkpoint. */
const CHECKPOINT_DONE = /checkpoint \d+ complete: .*bytes\n/;

/** A fresh run SIGKILLed as soon as its first checkpoint completes: a restart then has one to resume from, at any
 * machine speed (a kill at a fixed time missed it once the job got fast enough to finish first). */
async function killedAfterFirstCheckpoint(cwd: string, args: string[] = [], plan = PLAN): Promise<void> {
  const r = await runCli(['run', plan, '--from-scratch', ...args], { cwd, killAfterOutput: CHECKPOINT_DONE });
  expect(r.signal, r.stderr).toBe('SIGKILL');
}

/** Multiset difference of every table between two runs' databases (both ways), and row counts. */
async function diff(a: string, b: string): Promise<Record<string, { rows: number; onlyA: number; onlyB: number }>> {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  await c.run(`ATTACH '${join(a, 'out/payments.duckdb')}' AS a (READ_ONLY)`);
  await c.run(`ATTACH '${join(b, 'out/payments.duckdb')}' AS b (READ_ONLY)`);
  const out: Record<string, { rows: number; onlyA: number; onlyB: number }> = {};
  for (const t of TABLES) {
    const r = await c.runAndReadAll(`SELECT (SELECT count(*) FROM a.${t})::INT AS rows,
      (SELECT count(*) FROM (SELECT * FROM a.${t} EXCEPT ALL SELECT * FROM b.${t}))::INT AS onlyA,
      (SELECT count(*) FROM (SELECT * FROM b.${t} EXCEPT ALL SELECT * FROM a.${t}))::INT AS onlyB`);
    out[t] = r.getRowObjects()[0] as { rows: number; onlyA: number; onlyB: number };
  }
  c.closeSync();
  db.closeSync();
  return out;
}

function seeded(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 16807) % 2147483647) / 2147483647;
}

describe('exactly-once recovery', () => {
  const reference = tempDir('abflow-ref-');
  beforeAll(async () => {
    const r = await run(reference, ['-q']);
    expect(r.code, r.stderr).toBe(0);
  }, 120_000);

  it('gives the same tables after ≥ 10 SIGKILLs at random points as without crashes', async () => {
    const cwd = tempDir('abflow-crash-');
    const random = seeded(20261124);
    let kills = 0;
    let resumes = 0;
    for (let attempt = 0; kills < 10 && attempt < 40; attempt++) {
      // Alternate kills at a random moment with kills at a random moment after a checkpoint completed, so that
      // restarts both from scratch and from checkpoints are exercised whatever the machine's speed.
      const r =
        attempt % 2
          ? await runCli(['run', PLAN], { cwd, killAfterOutput: CHECKPOINT_DONE, killAfter: Math.floor(random() * 1500) })
          : await run(cwd, [], 500 + Math.floor(random() * 4000));
      if (r.signal === 'SIGKILL') kills++;
      else expect(r.code, r.stderr).toBe(0);
      if (/resumed from checkpoint/.test(r.stderr)) resumes++;
    }
    const last = await run(cwd);
    expect(last.code, last.stderr).toBe(0);
    if (/resumed from checkpoint/.test(last.stderr)) resumes++;
    expect(kills).toBeGreaterThanOrEqual(10);
    expect(resumes).toBeGreaterThan(0); // some restarts really continued from a checkpoint
    const d = await diff(reference, cwd);
    for (const t of TABLES) expect({ table: t, onlyA: d[t]!.onlyA, onlyB: d[t]!.onlyB }).toEqual({ table: t, onlyA: 0, onlyB: 0 });
    expect(d.payments!.rows).toBeGreaterThan(0);
  }, 600_000);

  it('reports a truncated or corrupted latest checkpoint and recovers from the previous complete one', async () => {
    const cwd = tempDir('abflow-damaged-');
    const storePath = join(cwd, 'out/payments.checkpoints.duckdb');
    await killedAfterFirstCheckpoint(cwd);
    const store = await CheckpointStore.open(storePath);
    const latest = (await store.list())[0];
    store.close();
    expect(latest && !latest.finished).toBe(true);
    // Forge two newer checkpoints from the latest: one with a truncated state blob, one with flipped bytes.
    const db = await DuckDBInstance.create(storePath);
    const c = await db.connect();
    for (const [id, damage] of [
      [latest!.id + 1, 'data[1:octet_length(data) // 2]'],
      [latest!.id + 2, "CASE WHEN vertex LIKE 'customer%' THEN 'garbage'::BLOB ELSE data END"],
    ] as const) {
      await c.run(`INSERT INTO checkpoints SELECT ${id}, now(), duration_ms, bytes, parallelism, false FROM checkpoints WHERE id = ${latest!.id}`);
      await c.run(
        `INSERT INTO checkpoint_state SELECT ${id}, vertex, part, fingerprint, sha256, CASE WHEN vertex LIKE 'customer%' THEN ${damage} ELSE data END FROM checkpoint_state WHERE checkpoint_id = ${latest!.id}`,
      );
    }
    c.closeSync();
    db.closeSync();
    const show = abflow(['checkpoints', 'show', PLAN], { cwd }).stdout;
    expect(show).toContain(`"id": ${latest!.id + 2}`);
    expect(show).toMatch(/"status": "DAMAGED: the state of `customer_(5|60)m` \(part \d\) is damaged: checksum mismatch/);
    const r = await run(cwd);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`warning: checkpoint ${latest!.id + 2} is unusable (the state of`);
    expect(r.stderr).toContain(`warning: checkpoint ${latest!.id + 1} is unusable (the state of`);
    expect(r.stderr).toContain('recovering from the previous complete checkpoint');
    expect(r.stderr).toContain(`resumed from checkpoint ${latest!.id}`);
    const d = await diff(reference, cwd);
    for (const t of TABLES) expect({ table: t, onlyA: d[t]!.onlyA, onlyB: d[t]!.onlyB }).toEqual({ table: t, onlyA: 0, onlyB: 0 });
  }, 600_000);

  it('refuses saved state that no longer fits a changed plan, naming each operator', async () => {
    const cwd = tempDir('abflow-changed-');
    await killedAfterFirstCheckpoint(cwd);
    const store = await CheckpointStore.open(join(cwd, 'out/payments.checkpoints.duckdb'));
    const latest = (await store.list())[0];
    store.close();
    expect(latest !== undefined && !latest.finished).toBe(true);
    const changed = join(cwd, 'changed.yaml');
    writeFileSync(changed, readFileSync(PLAN, 'utf8').replace('window: { type: tumbling, size: 5m }', 'window: { type: tumbling, size: 10m }'));
    const r = await run(cwd, [], undefined, changed);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /checkpoint \d+ does not fit this plan:\n {2}`customer_5m` changed \(kind, config or input schema\): its saved state cannot be read safely/,
    );
    expect(r.stderr).toContain('hint: run with --from-scratch to discard the saved state');
    const fresh = await run(cwd, ['--from-scratch', '-q'], undefined, changed);
    expect(fresh.code, fresh.stderr).toBe(0);
  }, 600_000);

  it('restores checkpoints taken at parallelism 1 at parallelism 2', async () => {
    const cwd = tempDir('abflow-rescale-');
    await killedAfterFirstCheckpoint(cwd, ['-p', '1']);
    const second = await run(cwd, ['-p', '2']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/resumed from checkpoint/);
    const d = await diff(reference, cwd);
    for (const t of TABLES) expect({ table: t, onlyA: d[t]!.onlyA, onlyB: d[t]!.onlyB }).toEqual({ table: t, onlyA: 0, onlyB: 0 });
  }, 600_000);
});
