/**
 * The `kafka` sink against a real broker. exactly_once: rows reach a read_committed reader once each across SIGKILLs
 * at random moments (transactions of a killed run are committed on restart when their checkpoint was complete, else
 * aborted); at_least_once: every row arrives, keyed and partitioned as Java clients would.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaSink } from '../../connectors/kafka/sink.js';
import { batchFromRows, schemaOf, systemClock } from '../../engine/api.js';
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

/** The sink as the runtime drives it, in this process: a run that resumes from `resumeFrom` and begins at `firstId`;
 * `lastComplete` differs from `resumeFrom` after a finished run (which the next run does not resume). */
function eosSink(topic: string, resumeFrom: number | null, firstId: number, lastComplete = resumeFrom) {
  const input = schemaOf({ id: 'int64', customer: 'string' });
  const sink = kafkaSink.create(
    kafkaSink.config.parse({
      bootstrapServers: broker.bootstrap,
      topic,
      key: 'customer',
      deliveryGuarantee: 'exactly_once',
      transactionalIdPrefix: `${topic}-tx`,
    }),
    { nodeId: 'out', job: 'recovery', inputs: [input], clock: systemClock, checkpointing: { resumeFrom, lastComplete, firstId, durable: true } },
  );
  const rows = (from: number, n: number) =>
    batchFromRows(
      input,
      Array.from({ length: n }, (_, i) => ({ id: BigInt(from + i), customer: `c${(from + i) % 7}` })),
    );
  return { sink, rows };
}

const ids = (messages: string[]) => messages.map((m) => Number((JSON.parse(m) as { id: number }).id)).sort((a, b) => a - b);
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

/** Run 1 as a cut leaves it: checkpoint 1 committed, checkpoint 2 pre-committed (durable) but not committed. */
async function cutAtCheckpoint2(topic: string) {
  const run1 = eosSink(topic, null, 1);
  await run1.sink.open!();
  await run1.sink.write(run1.rows(0, 100), 0);
  await run1.sink.preCommit!(1);
  await run1.sink.commit!(1, []);
  await run1.sink.write(run1.rows(100, 100), 0);
  await run1.sink.preCommit!(2);
  return run1;
}

describe.skipIf(!HAS_KAFKA)('kafka sink', () => {
  it('exactly_once recovery: the crashed run’s transaction of the resumed checkpoint is committed, later ones aborted', async () => {
    const topic = `recover_${Date.now()}`;
    await broker.createTopic(topic, 2);
    // Run 1: checkpoint 1 committed; checkpoint 2 durable but the crash comes before its commit; epoch 3 under way.
    const run1 = await cutAtCheckpoint2(topic);
    await run1.sink.write(run1.rows(200, 100), 0);
    // The crash: run 1's producers are never heard from again (their transactions stay open on the broker).
    // Run 2 resumes from checkpoint 2: it commits 2 and aborts 3. A transaction left open would hold back every
    // read_committed reader at its first message.
    const run2 = eosSink(topic, 2, 3);
    await run2.sink.open!();
    expect(ids(await readTopic(broker.bootstrap, topic, { count: 200, idleMs: 3000 }))).toEqual(range(0, 200));
    // Its epoch 3 brings no rows (so no producer of its own fences the crashed run's transaction 3); epoch 4 does.
    await run2.sink.preCommit!(3);
    await run2.sink.commit!(3, []);
    await run2.sink.write(run2.rows(200, 50), 0);
    await run2.sink.preCommit!(4);
    await run2.sink.commit!(4, []);
    await run2.sink.close!();
    expect(ids(await readTopic(broker.bootstrap, topic, { count: 250, idleMs: 3000 }))).toEqual(range(0, 250));
    await run1.sink.abort!(); // lets go of the crashed run's producers
  }, 120_000);

  it('exactly_once after a finished run cut off before its commit: the next run commits its final transaction', async () => {
    const topic = `finished_${Date.now()}`;
    await broker.createTopic(topic, 2);
    // Run 1's final checkpoint (2) is durable and finished the run; the cut comes before its sinks commit it.
    const run1 = await cutAtCheckpoint2(topic);
    // Run 2 starts afresh (its source continues after run 1's last position) and commits transaction 2 first.
    const run2 = eosSink(topic, null, 3, 2);
    await run2.sink.open!();
    await run2.sink.write(run2.rows(200, 50), 0);
    await run2.sink.preCommit!(3);
    await run2.sink.commit!(3, []);
    await run2.sink.close!();
    expect(ids(await readTopic(broker.bootstrap, topic, { count: 250, idleMs: 3000 }))).toEqual(range(0, 250));
    await run1.sink.abort!();
  }, 120_000);

  it('exactly_once: a read_committed reader sees every row once across SIGKILLs', async () => {
    const topic = `eos_${Date.now()}`;
    await broker.createTopic(topic, 4);
    const cwd = tempDir();
    writeInput(cwd);
    writeFileSync(join(cwd, 'plan.yaml'), plan(topic, 'exactly_once'));
    let kills = 0;
    let finished = false;
    for (let i = 0; kills < 4 && i < 12 && !finished; i++) {
      // Spared once its last checkpoint is written: that run is finished, and running it again would be a re-run
      // (its input is a file, read from the start), writing every row once more.
      const r = await runCli(['run', 'plan.yaml'], {
        cwd,
        killAfterOutput: /checkpoint \d+ complete/,
        killAfter: 50 + ((i * 137) % 400),
        spare: /\(finished\)/,
      });
      if (r.signal === 'SIGKILL') kills++;
      else expect(r.code, r.stderr).toBe(0);
      finished = r.code === 0;
    }
    if (!finished) {
      const last = abflow(['run', 'plan.yaml'], { cwd });
      expect(last.code, last.stderr).toBe(0);
    }
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
