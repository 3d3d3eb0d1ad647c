/**
 * A real Apache Kafka broker in tests: Apache's own jars (test/services/kafka.sh fetches them with Maven, once, into a
 * cache), one KRaft node (broker and controller in one process) per test file, on free loopback ports, with a
 * temporary log directory; or a cluster of such processes, the first also the controller. Tests stop, kill and
 * restart brokers to exercise failures; `close` removes everything.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Admin, Consumer, FetchIsolationLevels, stringDeserializers } from '@platformatic/kafka';
import { freePort } from '../../native-bench/kafka.js';
import { ROOT, tempDir } from './cli.js';

const SERVICES = join(ROOT, 'test/services');

/** The broker needs Java and Maven (to fetch Kafka's jars once). Without them Kafka tests are skipped, unless
 * ABFLOW_REQUIRE_KAFKA is set (`.ci/run` sets it), so a machine that lost Java fails CI instead of passing quietly. */
export const HAS_KAFKA = ['java', 'mvn'].every((tool) => spawnSync(tool, ['-version'], { stdio: 'ignore' }).status === 0);
if (!HAS_KAFKA && process.env.ABFLOW_REQUIRE_KAFKA) throw new Error('ABFLOW_REQUIRE_KAFKA is set, but java or mvn is missing');

/** The directory of Kafka's jars (fetched on first use). */
export function kafkaLibs(): string {
  return execFileSync(join(SERVICES, 'kafka.sh'), ['fetch'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

export class KafkaBroker {
  private process: ChildProcess | undefined;

  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly libs: string,
  ) {}

  get bootstrap(): string {
    return `127.0.0.1:${this.port}`;
  }

  static async start(): Promise<KafkaBroker> {
    return (await KafkaBroker.cluster(1))[0]!;
  }

  /** `size` brokers in one cluster, started and ready. The first is also the cluster's only controller (keep it
   * up); internal topics are replicated to every broker, so any other can fail. */
  static async cluster(size: number): Promise<KafkaBroker[]> {
    const libs = kafkaLibs();
    const controller = await freePort();
    const ports: number[] = [];
    for (let i = 0; i < size; i++) ports.push(await freePort());
    const brokers = ports.map((port, i) => {
      const dir = tempDir('abflow-kafka-');
      mkdirSync(join(dir, 'data'));
      const listeners = i === 0 ? `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controller}` : `PLAINTEXT://127.0.0.1:${port}`;
      writeFileSync(
        join(dir, 'server.properties'),
        [
          `process.roles=${i === 0 ? 'broker,controller' : 'broker'}`,
          `node.id=${i + 1}`,
          `controller.quorum.voters=1@127.0.0.1:${controller}`,
          `listeners=${listeners}`,
          `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
          'controller.listener.names=CONTROLLER',
          `log.dirs=${join(dir, 'data')}`,
          `offsets.topic.replication.factor=${size}`,
          'offsets.topic.num.partitions=3',
          `transaction.state.log.replication.factor=${size}`,
          'transaction.state.log.min.isr=1',
          'transaction.state.log.num.partitions=3',
          'group.initial.rebalance.delay.ms=0',
          // A failed broker's partitions get new leaders within seconds (the default waits 9 s).
          'broker.heartbeat.interval.ms=500',
          'broker.session.timeout.ms=3000',
          // Tests write messages with event-time timestamps of any age: time-based retention would delete them.
          'log.retention.ms=-1',
          // A 10 MB message must reach the source (which dead-letters it), not be refused by the broker.
          'message.max.bytes=16777216',
          'replica.fetch.max.bytes=16777216',
        ].join('\n'),
      );
      execFileSync('java', ['-cp', `${libs}/*`, 'kafka.tools.StorageTool', 'format', '-t', `abflow-test-${ports[0]}`, '-c', join(dir, 'server.properties')], {
        stdio: 'ignore',
      });
      return new KafkaBroker(dir, port, libs);
    });
    await brokers[0]!.run();
    await Promise.all(brokers.slice(1).map((b) => b.run()));
    return brokers;
  }

  /** Starts the broker process (again, after `stop` or `kill`) and waits until it answers metadata requests. */
  async run(): Promise<void> {
    this.process = spawn(
      'java',
      [
        '-Xmx512m',
        `-Dkafka.logs.dir=${this.dir}`,
        `-Dlog4j2.configurationFile=${join(SERVICES, 'kafka/log4j2.properties')}`,
        '-cp',
        `${this.libs}/*`,
        'kafka.Kafka',
        join(this.dir, 'server.properties'),
      ],
      { stdio: 'ignore' },
    );
    const exited = once(this.process, 'exit').then(([code]) => {
      throw new Error(`the Kafka broker exited with ${String(code)} while starting; see ${this.dir}/kafka.log`);
    });
    const ready = (async () => {
      for (;;) {
        const admin = new Admin({ clientId: 'abflow-test', bootstrapBrokers: [this.bootstrap], retries: 0 });
        try {
          await admin.metadata({ topics: [] });
          return;
        } catch {
          await new Promise((r) => setTimeout(r, 300));
        } finally {
          await admin.close().catch(() => undefined);
        }
      }
    })();
    await Promise.race([ready, exited]);
  }

  async createTopic(topic: string, partitions: number, replicas = 1): Promise<void> {
    const admin = new Admin({ clientId: 'abflow-test', bootstrapBrokers: [this.bootstrap] });
    try {
      await admin.createTopics({ topics: [topic], partitions, replicas });
    } finally {
      await admin.close();
    }
  }

  /** Stops the broker as an operator would (SIGTERM: a controlled shutdown), waiting for the process to end. */
  async stop(): Promise<void> {
    await this.signal('SIGTERM');
  }

  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  private async signal(sig: NodeJS.Signals): Promise<void> {
    const p = this.process;
    this.process = undefined;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const done = once(p, 'exit');
    p.kill(sig);
    await done;
  }

  async close(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Every message of `topic` a read_committed consumer sees (aborted transactions' messages never appear), read from
 * the earliest offsets until `count` arrived or nothing came for `idleMs`. `bootstrap`: host:port, comma-separated. */
export async function readTopic(bootstrap: string, topic: string, opts: { count?: number; idleMs?: number } = {}): Promise<string[]> {
  const consumer = new Consumer({
    clientId: 'abflow-test',
    groupId: `reader_${topic}_${Date.now()}`,
    bootstrapBrokers: bootstrap.split(','),
    deserializers: stringDeserializers,
    isolationLevel: FetchIsolationLevels.READ_COMMITTED,
  });
  const values: string[] = [];
  try {
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', maxWaitTime: 200 });
    let idle: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(() => void stream.close(), opts.idleMs ?? 3000);
    };
    arm();
    for await (const m of stream) {
      values.push(m.value);
      if (opts.count !== undefined && values.length >= opts.count) break;
      arm();
    }
    clearTimeout(idle);
  } finally {
    await consumer.close(true);
  }
  return values;
}
