/**
 * Exactly once end to end against a real broker: 1 M JSON events on a 6-partition topic, read by a plan with an
 * event-time window (per-partition watermarks from the messages' timestamps) writing to a `kafka` sink
 * (exactly_once) and a `duckdb` sink. A run killed (SIGKILL) at ten random moments and restarted after each, and a run
 * that rides out a broker restart, must each equal a fault-free run: the output topic read with read_committed and the
 * DuckDB table, row for row (0 lost, 0 duplicated).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { Producer, stringSerializers } from '@platformatic/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { abflow, runCli, tempDir } from '../kit/cli.js';
import { HAS_KAFKA, KafkaBroker, readTopic } from '../kit/kafka.js';

const EVENTS = 1_000_000;
const INPUT = 'events';

let broker: KafkaBroker;
beforeAll(async () => {
  if (!HAS_KAFKA) return;
  broker = await KafkaBroker.start();
  await broker.createTopic(INPUT, 6);
  const p = new Producer({ clientId: 'test', bootstrapBrokers: [broker.bootstrap], serializers: stringSerializers, compression: 'lz4' });
  const t0 = Date.UTC(2026, 0, 1);
  for (let first = 0; first < EVENTS; first += 10_000) {
    const messages = Array.from({ length: 10_000 }, (_, k) => {
      const i = first + k;
      // Event time advances 10 ms per event with up to 2 s of disorder; 500 users.
      const ts = t0 + i * 10 - ((i * 7919) % 2000);
      // The message timestamp is the event time: the source tracks it per partition.
      return { topic: INPUT, key: `u${i % 500}`, timestamp: BigInt(ts), value: JSON.stringify({ id: i, user: `u${i % 500}`, amount: (i % 997) / 10 }) };
    });
    await p.send({ messages });
  }
  await p.close();
}, 600_000);
afterAll(async () => broker?.close());

const plan = (name: string, out: string) => `
name: ${name}
# Small batches and queues: a barrier passes in well under a second, so every run commits several transactions.
engine: { parallelism: 2, batchSize: 2000, queueCapacity: 2, checkpoint: { path: state.duckdb, interval: 300ms } }
sources:
  - id: events
    kind: kafka
    config:
      bootstrapServers: ${broker.bootstrap}
      topics: [${INPUT}]
      groupId: ${name}
      startFrom: earliest
      bounded: latest
      schema: { id: int64, user: string, amount: float64 }
      watermark: { maxOutOfOrderness: 2s, idleTimeout: 10s }
operators:
  - id: per_user
    kind: window_aggregate
    inputs: [events]
    config:
      keyBy: [user]
      timeColumn: _kafka_timestamp
      window: { type: tumbling, size: 1m }
      aggregates: { n: count(), total: sum(amount), last_id: max(id) }
sinks:
  - { id: topic_out, kind: kafka, inputs: [per_user], config: { bootstrapServers: ${broker.bootstrap}, topic: ${out}, key: user, deliveryGuarantee: exactly_once } }
  - { id: table_out, kind: duckdb, inputs: [per_user], config: { path: out.duckdb, table: windows, mode: append } }
  - { id: late_rows, kind: jsonl, inputs: [per_user.late], config: { path: late.jsonl } }
`;

async function outputs(cwd: string, topic: string, expected: number) {
  const messages = (await readTopic(broker.bootstrap, topic, { count: expected + 1, idleMs: 5000 })).sort();
  const db = await DuckDBInstance.create(join(cwd, 'out.duckdb'));
  const c = await db.connect();
  const rows = (await c.runAndReadAll('SELECT user, window_start::VARCHAR AS ws, n, total, last_id FROM windows ORDER BY ALL')).getRowObjectsJson();
  c.closeSync();
  db.closeSync();
  return { messages, rows: rows.map((r) => JSON.stringify(r)) };
}

async function faultFree(name: string) {
  const cwd = tempDir();
  const topic = `${name}_out`;
  await broker.createTopic(topic, 3);
  writeFileSync(join(cwd, 'plan.yaml'), plan(name, topic));
  const r = abflow(['run', 'plan.yaml'], { cwd });
  expect(r.code, r.stderr).toBe(0);
  // Per-partition event time: however the partitions' fetches interleave, no row is late, so runs are comparable.
  expect(lateRows(cwd)).toBe('');
  return { cwd, topic };
}

const lateRows = (cwd: string) => (existsSync(join(cwd, 'late.jsonl')) ? readFileSync(join(cwd, 'late.jsonl'), 'utf8') : '');

/** What `got` lacks and what it has too often, against `expected` (multisets; the first 5 of each). */
function difference(expected: string[], got: string[]) {
  const count = new Map<string, number>();
  for (const x of expected) count.set(x, (count.get(x) ?? 0) + 1);
  for (const x of got) count.set(x, (count.get(x) ?? 0) - 1);
  const lost = [...count].filter(([, n]) => n > 0).map(([x, n]) => `${n}× ${x}`);
  const duplicated = [...count].filter(([, n]) => n < 0).map(([x, n]) => `${-n}× ${x}`);
  return {
    lost: lost.length > 5 ? [...lost.slice(0, 5), `… ${lost.length} in all`] : lost,
    duplicated: duplicated.length > 5 ? [...duplicated.slice(0, 5), `… ${duplicated.length} in all`] : duplicated,
  };
}

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
  let reference: { messages: string[]; rows: string[] };

  it('a fault-free run: every window of every user, once', async () => {
    const { cwd, topic } = await faultFree('reference');
    reference = await outputs(cwd, topic, 500 * 170);
    expect(reference.rows.length).toBeGreaterThan(500 * 160); // 10 000 s of event time: 167 one-minute windows per user
    expect(reference.messages).toHaveLength(reference.rows.length);
  }, 600_000);

  it('SIGKILLed at 10 random moments and restarted after each: topic and table equal the fault-free run', async () => {
    const name = 'killed';
    const topic = `${name}_out`;
    await broker.createTopic(topic, 3);
    const cwd = tempDir();
    writeFileSync(join(cwd, 'plan.yaml'), plan(name, topic));
    const random = seeded(2026);
    const runs: string[] = [];
    let kills = 0;
    for (let i = 0; i < 40; i++) {
      // Every other kill lands 1–5 s after the start (recovering transactions, reading, mid-epoch), the others within
      // 100 ms of the run's second checkpoint completing (its transactions committing, or about to).
      const when =
        kills >= 10
          ? {}
          : i % 2 === 0
            ? { killAfterMs: 1000 + random() * 4000 }
            : { killAfterOutput: /checkpoint \d+ complete[^]*checkpoint \d+ complete/, killAfter: random() * 100 };
      const r = await runCli(['run', 'plan.yaml'], { cwd, ...when });
      runs.push(`${r.signal ?? r.code} ${JSON.stringify(when)}: ${/resumed from checkpoint \d+/.exec(r.stderr)?.[0] ?? 'fresh start'}`);
      if (r.signal === 'SIGKILL') {
        kills++;
        continue;
      }
      expect(r.code, `${runs.join('\n')}\n${r.stderr}`).toBe(0);
      break;
    }
    expect(kills, runs.join('\n')).toBe(10);
    expect(lateRows(cwd)).toBe('');
    const got = await outputs(cwd, topic, reference.rows.length);
    expect(difference(reference.rows, got.rows), runs.join('\n')).toEqual({ lost: [], duplicated: [] });
    expect(difference(reference.messages, got.messages), runs.join('\n')).toEqual({ lost: [], duplicated: [] });
  }, 1_800_000);

  it('a broker restart mid-run: the job retries, resumes and still equals the fault-free run', async () => {
    const name = 'restarted';
    const topic = `${name}_out`;
    await broker.createTopic(topic, 3);
    const cwd = tempDir();
    writeFileSync(join(cwd, 'plan.yaml'), plan(name, topic));
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
    const got = await outputs(cwd, topic, reference.rows.length);
    expect(difference(reference.rows, got.rows)).toEqual({ lost: [], duplicated: [] });
    expect(difference(reference.messages, got.messages)).toEqual({ lost: [], duplicated: [] });
  }, 900_000);
});
