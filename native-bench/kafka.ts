/**
 * Kafka benchmark: a topic of JSON records → derive → another topic through abflow, exactly once and at least once,
 * beside Apache Kafka's own perf tools on the same broker in the same run (ProducerPerformance writes the input topic
 * from the same JSON lines; ConsumerPerformance reads it back). The broker is Apache Kafka from its own jars
 * (test/services/kafka.sh: Java and Maven needed), or the cluster in BENCH_KAFKA (host:port); the perf tools need the
 * jars either way. abflow's figures are records/s of wall time and per CPU-second of its process (both cores are
 * shared with the broker, so the CPU figure is the fairer one).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadComponents } from '../engine/builtins.js';
import { compilePlan } from '../engine/compile/compile.js';
import { loadPlanText } from '../engine/plan/load.js';
import { Job } from '../engine/runtime/job.js';
import { REPO_ROOT, type Row } from './report.js';

const SCRIPT = join(REPO_ROOT, 'test/services/kafka.sh');

/** A loopback port nothing listens on now (for a broker started here, and the tests' brokers). */
export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

function java(libs: string, main: string, args: string[]): string {
  const r = spawnSync('java', ['-Xmx512m', '-cp', `${libs}/*`, main, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${main} failed: ${r.stderr.slice(-2000)}`);
  return r.stdout;
}

const plan = (bootstrap: string, input: string, output: string, guarantee: string) => `
name: bench_kafka_${guarantee}
engine: { parallelism: 2, batchSize: 8192, checkpoint: { path: ${JSON.stringify(join(tmpdir(), `abflow-bench-kafka-${output}.duckdb`))}, interval: 2s } }
sources:
  - id: events
    kind: kafka
    config:
      bootstrapServers: ${bootstrap}
      topics: [${input}]
      groupId: bench_${output}
      startFrom: earliest
      bounded: latest
      schema: { id: int64, user: string, amount: float64, currency: string }
operators:
  - id: usd
    kind: derive
    inputs: [events]
    config: { columns: { amount_usd: "round(amount * CASE currency WHEN 'EUR' THEN 1.08 ELSE 1.0 END, 2)", large: "amount_usd >= 100" } }
sinks:
  - { id: out, kind: kafka, inputs: [usd], config: { bootstrapServers: ${bootstrap}, topic: ${output}, key: user, deliveryGuarantee: ${guarantee} } }
`;

export async function kafkaBench(records: number): Promise<Row[]> {
  const libs = execFileSync(SCRIPT, ['fetch'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  const dir = mkdtempSync(join(tmpdir(), 'abflow-bench-kafka-'));
  let brokerPid: number | undefined;
  let bootstrap = process.env.BENCH_KAFKA;
  try {
    if (!bootstrap) {
      const port = await freePort();
      const controller = await freePort();
      brokerPid = Number(
        execFileSync(SCRIPT, ['start'], {
          encoding: 'utf8',
          env: { ...process.env, KAFKA_PORT: String(port), KAFKA_CONTROLLER_PORT: String(controller), KAFKA_DIR: dir },
        }).trim(),
      );
      bootstrap = `127.0.0.1:${port}`;
    }
    const tools = (main: string, args: string[]) => java(libs, `org.apache.kafka.tools.${main}`, args);
    const topic = (name: string) => tools('TopicCommand', ['--bootstrap-server', bootstrap!, '--create', '--topic', name, '--partitions', '4']);
    const stamp = Date.now().toString(36);
    const input = `bench_in_${stamp}`;
    topic(input);
    // The input: JSON lines of ~90 bytes, sent by Kafka's own ProducerPerformance (its figure is the producer baseline).
    const payloads = join(dir, 'payloads.jsonl');
    writeFileSync(
      payloads,
      Array.from({ length: 10_000 }, (_, i) => JSON.stringify({ id: i, user: `u${i % 997}`, amount: (i % 5000) / 10, currency: i % 3 ? 'EUR' : 'USD' })).join(
        '\n',
      ),
    );
    const produced = tools('ProducerPerformance', [
      '--topic',
      input,
      '--num-records',
      String(records),
      '--throughput',
      '-1',
      '--payload-file',
      payloads,
      '--producer-props',
      `bootstrap.servers=${bootstrap}`,
      'acks=all',
      'linger.ms=5',
      'batch.size=262144',
    ]);
    // "1000000 records sent, 512345.6 records/sec (45.10 MB/sec), ..."
    const p = /records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\)/.exec(produced);
    const consumed = tools('ConsumerPerformance', ['--bootstrap-server', bootstrap, '--topic', input, '--num-records', String(records)]);
    // The summary line: start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec (the whole
    // run, joining the group included, as abflow's wall time includes its start), rebalance.time.ms, ...
    const summary = consumed
      .trim()
      .split('\n')
      .filter((l) => /^\d{4}-/.test(l))
      .at(-1)
      ?.split(',')
      .map((x) => x.trim());
    const consumerRate = summary ? Number(summary[5]) : NaN;
    const rows: Row[] = [];
    const producerRate = p ? Number(p[1]) : NaN;
    rows.push({
      scenario: 'kafka',
      name: `Kafka ProducerPerformance (acks=all, JSON payloads)`,
      rows: records,
      recordsPerSec: producerRate,
      mbPerSec: p ? Number(p[2]) : undefined,
    });
    rows.push({
      scenario: 'kafka',
      name: 'Kafka ConsumerPerformance',
      rows: records,
      recordsPerSec: consumerRate,
      ratio: consumerRate / producerRate,
      baseline: 'ProducerPerformance',
    });
    const { registry, modules } = await loadComponents();
    for (const guarantee of ['at_least_once', 'exactly_once']) {
      const output = `bench_out_${guarantee}_${stamp}`;
      topic(output);
      const compiled = await compilePlan(loadPlanText(plan(bootstrap, input, output, guarantee)), registry);
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const result = await new Job(compiled, { modules }).run();
      const wall = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const cpuSeconds = (cpu.user + cpu.system) / 1e6;
      const n = result.nodes.find((x) => x.id === 'out')?.rowsIn ?? 0;
      if (n !== records) throw new Error(`abflow ${guarantee} wrote ${n} of ${records} records`);
      rows.push({
        scenario: 'kafka',
        name: `abflow topic → derive → topic, ${guarantee} (${Math.round(n / cpuSeconds / 1000)} k records per CPU-second)`,
        rows: n,
        recordsPerSec: n / wall,
        ratio: n / wall / consumerRate,
        baseline: 'ConsumerPerformance',
      });
    }
    return rows;
  } finally {
    if (brokerPid) spawnSync('kill', [String(brokerPid)]);
    rmSync(dir, { recursive: true, force: true });
  }
}
