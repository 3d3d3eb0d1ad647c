/**
 * Exactly once on a cluster of two brokers (the job: windows-job.ts, 300 000 events): every topic, the consumer
 * offsets and the transaction log replicated to both. The second broker is SIGKILLed mid-run and comes back seconds
 * later: the partitions, group and transaction coordinators it led move to the first, the job's reads, writes and
 * commits follow them, and the output still equals a fault-free run's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../kit/cli.js';
import { HAS_KAFKA, KafkaBroker } from '../kit/kafka.js';
import { expectSameOutputs, lateRows, USERS, WindowsJob } from './windows-job.js';

let brokers: KafkaBroker[] = [];
let job: WindowsJob;
beforeAll(async () => {
  if (!HAS_KAFKA) return;
  brokers = await KafkaBroker.cluster(2);
  job = new WindowsJob(brokers.map((b) => b.bootstrap).join(','), (topic, partitions) => brokers[0]!.createTopic(topic, partitions, 2));
  await job.produce(300_000);
}, 600_000);
afterAll(async () => Promise.all(brokers.map((b) => b.close())));

describe.skipIf(!HAS_KAFKA)('kafka on two brokers', () => {
  it('a broker fails mid-run and returns: leaders move, the job follows them, output equals the fault-free run', async () => {
    const reference = await job.faultFree('reference', USERS * 51);
    expect(reference.rows.length).toBeGreaterThan(USERS * 49); // 3 000 s of event time: 50 one-minute windows per user
    const { cwd, topic } = await job.prepare('failover');
    // Once the job reads and commits (its second checkpoint), the second broker dies without a word; it is back
    // four seconds later.
    let failure: Promise<void> | undefined;
    const r = await runCli(['run', 'plan.yaml'], {
      cwd,
      onStderr: (stderr) => {
        if (failure || !/checkpoint 2 complete/.test(stderr)) return;
        failure = (async () => {
          await brokers[1]!.kill();
          await new Promise((resolve) => setTimeout(resolve, 4000));
          await brokers[1]!.run();
        })();
      },
    });
    expect(failure, 'the broker was not killed: the job ended before its second checkpoint').toBeDefined();
    await failure;
    expect(r.code, r.stderr).toBe(0);
    expect(lateRows(cwd)).toBe('');
    expectSameOutputs(reference, await job.outputs(cwd, topic, reference.rows.length));
  }, 900_000);
});
