/**
 * Exactly-once JSONL output: a checkpointed job killed with SIGKILL several times and restarted writes every row
 * exactly once, in order.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { CLI, tempDir } from '../kit/cli.js';

const COUNT = 400_000;
const PLAN = `
name: to_jsonl
engine: { parallelism: 2, batchSize: 4096, queueCapacity: 2, checkpoint: { interval: 200ms } }
sources: [{ id: p, kind: generate, config: { generator: payments, count: ${COUNT}, seed: 9, rowsPerSecond: 100000 } }]
operators: [{ id: s, kind: select, inputs: [p], config: { columns: [payment_id, amount] } }]
sinks: [{ id: out, kind: jsonl, inputs: [s], config: { path: out/payments.jsonl } }]
`;

function run(cwd: string, killAfterMs?: number): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'run', 'plan.yaml'], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr });
    });
  });
}

it('writes every row exactly once, in order, across SIGKILLs', async () => {
  const cwd = tempDir('abflow-jsonl-crash-');
  writeFileSync(join(cwd, 'plan.yaml'), PLAN);
  let kills = 0;
  let resumes = 0;
  for (let i = 0; kills < 5 && i < 20; i++) {
    const r = await run(cwd, 900 + i * 400);
    if (r.signal === 'SIGKILL') kills++;
    if (/resumed from checkpoint/.test(r.stderr)) resumes++;
  }
  const last = await run(cwd);
  expect(last.code, last.stderr).toBe(0);
  if (/resumed from checkpoint/.test(last.stderr)) resumes++;
  expect(kills).toBe(5);
  expect(resumes).toBeGreaterThan(0);
  const ids = readFileSync(join(cwd, 'out/payments.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { payment_id: number }).payment_id);
  expect(ids.length).toBe(COUNT);
  expect(ids.every((id, i) => id === i + 1)).toBe(true);
}, 300_000);
