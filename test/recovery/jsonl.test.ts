/**
 * Exactly-once JSONL output: a checkpointed job killed with SIGKILL several times and restarted writes every row
 * exactly once, in order.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { runCli, tempDir } from '../kit/cli.js';

const COUNT = 400_000;
const PLAN = `
name: to_jsonl
engine: { parallelism: 2, batchSize: 4096, queueCapacity: 2, checkpoint: { interval: 200ms } }
sources: [{ id: p, kind: generate, config: { generator: payments, count: ${COUNT}, seed: 9, rowsPerSecond: 100000 } }]
operators: [{ id: s, kind: select, inputs: [p], config: { columns: [payment_id, amount] } }]
sinks: [{ id: out, kind: jsonl, inputs: [s], config: { path: out/payments.jsonl } }]
`;

function run(cwd: string, killAfterMs?: number) {
  return runCli(['run', 'plan.yaml'], { cwd, ...(killAfterMs === undefined ? {} : { killAfterMs }) });
}

it('writes every row exactly once, in order, across SIGKILLs', async () => {
  const cwd = tempDir('abflow-jsonl-crash-');
  writeFileSync(join(cwd, 'plan.yaml'), PLAN);
  let kills = 0;
  let resumes = 0;
  for (let i = 0; kills < 5 && i < 20; i++) {
    // Alternate kills at a moment in the run with kills shortly after a checkpoint completed.
    const r =
      i % 2
        ? await runCli(['run', 'plan.yaml'], { cwd, killAfterOutput: /checkpoint \d+ complete: .*bytes\n/, killAfter: 100 * i })
        : await run(cwd, 900 + i * 400);
    if (r.signal === 'SIGKILL') kills++;
    if (/resumed from checkpoint/.test(r.stderr)) resumes++;
  }
  const last = await run(cwd);
  expect(last.code, last.stderr).toBe(0);
  if (/resumed from checkpoint/.test(last.stderr)) resumes++;
  expect(kills).toBe(5);
  expect(resumes).toBeGreaterThan(0);
  const ids = readFileSync(join(cwd, 'out/payments.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { payment_id: number }).payment_id);
  expect(ids.length).toBe(COUNT);
  expect(ids.every((id, i) => id === i + 1)).toBe(true);
}, 300_000);
