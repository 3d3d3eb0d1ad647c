/**
 * Exactly once end to end against a real broker (the job: windows-job.ts): 1 M JSON events on a 6-partition topic,
 * windowed per user, written to a `kafka` sink (exactly_once) and a `duckdb` sink. A run killed (SIGKILL) at ten random
 * moments and restarted after each, and a run that rides out a broker restart, must each equal a fault-free run: the
 * output topic read with read_committed and the DuckDB table, row for row (0 lost, 0 duplicated).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../kit/cli.js';
import { HAS_KAFKA, KafkaBroker } from '../kit/kafka.js';
import { expectSameOutputs, lateRows, type Outputs, USERS, WindowsJob } from './windows-job.js';

let broker: KafkaBroker;
let job: WindowsJob;
beforeAll(async () => {
  if (!HAS_KAFKA) return;
  broker = await KafkaBroker.start();
  job = new WindowsJob(broker.bootstrap, (topic, partitions) => broker.createTopic(topic, partitions));
  await job.produce(1_000_000);
}, 600_000);
afterAll(async () => broker?.close());

/** A small seeded generator (mulberry32), so the kill moments are random yet the same in every run of the test. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe.skipIf(!HAS_KAFKA)('kafka exactly once', () => {
  let reference: Outputs;

  it('a fault-free run: every window of every user, once', async () => {
    reference = await job.faultFree('reference', USERS * 170);
    expect(reference.rows.length).toBeGreaterThan(USERS * 160); // 10 000 s of event time: 167 one-minute windows per user
    expect(reference.messages).toHaveLength(reference.rows.length);
  }, 600_000);

  it('SIGKILLed at 10 random moments and as its final checkpoint is written, restarted after each: topic and table equal the fault-free run', async () => {
    const { cwd, topic } = await job.prepare('killed');
    const random = seeded(2026);
    const runs: string[] = [];
    let kills = 0;
    let cutAtFinish = false;
    for (let i = 0; i < 40; i++) {
      // Every other kill lands 1–5 s after the start (recovering transactions, reading, mid-epoch), the others within
      // 100 ms of the run's first or second checkpoint completing (its transactions committing, or about to). Then
      // the run that gets to the end is killed as its final checkpoint is written, before its sinks commit it: the
      // next run starts afresh after the topic's last read position, and commits that epoch first.
      const afterCheckpoints = i % 4 === 1 ? /checkpoint \d+ complete/ : /checkpoint \d+ complete[^]*checkpoint \d+ complete/;
      const when =
        kills >= 10
          ? cutAtFinish
            ? {}
            : { killAfterOutput: /\(finished\)/, killAfter: 0 }
          : i % 2 === 0
            ? { killAfterMs: 1000 + random() * 4000 }
            : { killAfterOutput: afterCheckpoints, killAfter: random() * 100 };
      const r = await runCli(['run', 'plan.yaml'], { cwd, ...when });
      runs.push(`${r.signal ?? r.code} ${JSON.stringify(when)}: ${/resumed from checkpoint \d+/.exec(r.stderr)?.[0] ?? 'fresh start'}`);
      if (r.signal === 'SIGKILL') {
        if (kills >= 10) cutAtFinish = true;
        else kills++;
        continue;
      }
      expect(r.code, `${runs.join('\n')}\n${r.stderr}`).toBe(0);
      break;
    }
    expect(kills, runs.join('\n')).toBe(10);
    expect(cutAtFinish, runs.join('\n')).toBe(true);
    expect(lateRows(cwd)).toBe('');
    expectSameOutputs(reference, await job.outputs(cwd, topic, reference.rows.length), runs.join('\n'));
  }, 1_800_000);

  it('a broker restart mid-run: the job retries, resumes and still equals the fault-free run', async () => {
    const { cwd, topic } = await job.prepare('restarted');
    const run = runCli(['run', 'plan.yaml'], { cwd });
    // Three seconds in, while the job reads and commits, the broker goes down for two seconds and comes back.
    const restarted = new Promise<void>((resolve, reject) =>
      setTimeout(() => {
        void (async () => {
          await broker.stop();
          await new Promise((r) => setTimeout(r, 2000));
          await broker.run();
        })().then(resolve, reject);
      }, 3000),
    );
    const r = await run;
    await restarted;
    expect(r.code, r.stderr).toBe(0);
    expect(lateRows(cwd)).toBe('');
    expectSameOutputs(reference, await job.outputs(cwd, topic, reference.rows.length));
  }, 900_000);
});
