/**
 * anomaly_detect keeps its detectors in checkpointed keyed state: a job SIGKILLed after checkpoints and restarted
 * (also at another parallelism) scores every row exactly as an uninterrupted run does.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { expect, it } from 'vitest';
import { runCli, tempDir } from '../kit/cli.js';

function data(path: string): void {
  const lines: string[] = [];
  for (let i = 0; i < 100_000; i++)
    for (const s of ['cpu', 'latency', 'orders', 'temp']) {
      const base = s === 'orders' ? 100 + 40 * Math.sin(i / 30) : s === 'temp' ? 20 + (i % 500) / 100 : 50 + 10 * Math.sin(i / 7);
      const spike = i % 9973 === 0 ? 500 : 0;
      lines.push(JSON.stringify({ series: s, seq: i, value: Math.round((base + spike + ((i * 7919) % 13)) * 100) / 100 }));
    }
  writeFileSync(path, lines.join('\n') + '\n');
}

const plan = (input: string) => `
name: detect
engine: { parallelism: 2, batchSize: 4096, checkpoint: { interval: 150ms } }
sources:
  - { id: metrics, kind: jsonl, config: { path: ${input}, schema: { series: string, seq: int64, value: float64 } } }
operators:
  - { id: scored, kind: anomaly_detect, inputs: [metrics], config: { value: value, keyBy: [series] } }
sinks:
  - { id: out, kind: duckdb, inputs: [scored], config: { path: out/scores.duckdb, table: scores } }
`;

async function diff(a: string, b: string): Promise<{ rows: number; onlyA: number; onlyB: number }> {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  await c.run(`ATTACH '${a}' AS a (READ_ONLY)`);
  await c.run(`ATTACH '${b}' AS b (READ_ONLY)`);
  const r = (
    await c.runAndReadAll(`SELECT (SELECT count(*) FROM b.scores)::INT AS rows,
    (SELECT count(*) FROM (SELECT series, seq, anomaly_score FROM a.scores EXCEPT ALL SELECT series, seq, anomaly_score FROM b.scores))::INT AS onlyA,
    (SELECT count(*) FROM (SELECT series, seq, anomaly_score FROM b.scores EXCEPT ALL SELECT series, seq, anomaly_score FROM a.scores))::INT AS onlyB`)
  ).getRowObjects()[0] as { rows: number; onlyA: number; onlyB: number };
  c.closeSync();
  db.closeSync();
  return r;
}

it('scores after SIGKILLs and restarts (at parallelism 2, then 1) equal an uninterrupted run', async () => {
  const ref = tempDir('abflow-detect-ref-');
  const input = join(ref, 'metrics.jsonl');
  data(input);
  writeFileSync(join(ref, 'plan.yaml'), plan(input));
  const r0 = await runCli(['run', 'plan.yaml'], { cwd: ref });
  expect(r0.code, r0.stderr).toBe(0);
  const cwd = tempDir('abflow-detect-');
  writeFileSync(join(cwd, 'plan.yaml'), plan(input));
  let kills = 0;
  for (let i = 0; i < 6 && kills < 2; i++) {
    const r = await runCli(['run', 'plan.yaml'], { cwd, killAfterOutput: /checkpoint \d+ complete/, killAfter: 50 });
    if (r.signal === 'SIGKILL') kills++;
  }
  expect(kills).toBe(2);
  const last = await runCli(['run', 'plan.yaml', '--parallelism', '1'], { cwd });
  expect(last.code, last.stderr).toBe(0);
  expect(last.stderr).toMatch(/resumed from checkpoint/);
  expect(await diff(join(ref, 'out/scores.duckdb'), join(cwd, 'out/scores.duckdb'))).toEqual({ rows: 400_000, onlyA: 0, onlyB: 0 });
}, 180_000);
