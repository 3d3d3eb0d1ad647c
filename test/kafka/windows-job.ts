/**
 * The job the exactly-once tests run against real brokers, and how they compare runs: JSON events on a 6-partition
 * topic, read by a plan with an event-time window (per-partition watermarks from the messages' timestamps) writing to
 * a `kafka` sink (exactly_once), a `duckdb` sink and a file of late rows. A run under faults must equal a fault-free
 * run: the output topic read with read_committed and the DuckDB table, row for row (0 lost, 0 duplicated).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { Producer, stringSerializers } from '@platformatic/kafka';
import { expect } from 'vitest';
import { abflow, tempDir } from '../kit/cli.js';
import { readTopic } from '../kit/kafka.js';

const INPUT = 'events';
export const USERS = 500;

export interface Outputs {
  /** The output topic's messages (read_committed), sorted. */
  readonly messages: string[];
  /** The DuckDB table's rows as JSON, sorted. */
  readonly rows: string[];
}

export class WindowsJob {
  constructor(
    readonly bootstrap: string,
    private readonly createTopic: (topic: string, partitions: number) => Promise<void>,
  ) {}

  /** Produces `events` events: event time advances 10 ms per event with up to 2 s of disorder, over 500 users. */
  async produce(events: number): Promise<void> {
    await this.createTopic(INPUT, 6);
    // Idempotent: a retried send (a new topic's leaders still settling) must not write a message twice.
    const p = new Producer({
      clientId: 'test',
      bootstrapBrokers: this.bootstrap.split(','),
      serializers: stringSerializers,
      compression: 'lz4',
      idempotent: true,
    });
    const t0 = Date.UTC(2026, 0, 1);
    for (let first = 0; first < events; first += 10_000) {
      const messages = Array.from({ length: Math.min(10_000, events - first) }, (_, k) => {
        const i = first + k;
        const ts = t0 + i * 10 - ((i * 7919) % 2000);
        // The message timestamp is the event time: the source tracks it per partition.
        const user = `u${i % USERS}`;
        return { topic: INPUT, key: user, timestamp: BigInt(ts), value: JSON.stringify({ id: i, user, amount: (i % 997) / 10 }) };
      });
      await p.send({ messages });
    }
    await p.close();
  }

  /** A run directory holding the plan of run `name`, which writes to topic `<name>_out` (created here). */
  async prepare(name: string): Promise<{ cwd: string; topic: string }> {
    const cwd = tempDir();
    const topic = `${name}_out`;
    await this.createTopic(topic, 3);
    writeFileSync(join(cwd, 'plan.yaml'), this.plan(name, topic));
    return { cwd, topic };
  }

  private plan(name: string, out: string): string {
    return `
name: ${name}
# Small batches and queues: a barrier passes in well under a second, so every run commits several transactions.
engine: { parallelism: 2, batchSize: 2000, queueCapacity: 2, checkpoint: { path: state.duckdb, interval: 300ms } }
sources:
  - id: events
    kind: kafka
    config:
      bootstrapServers: ${this.bootstrap}
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
  - { id: topic_out, kind: kafka, inputs: [per_user], config: { bootstrapServers: "${this.bootstrap}", topic: ${out}, key: user, deliveryGuarantee: exactly_once } }
  - { id: table_out, kind: duckdb, inputs: [per_user], config: { path: out.duckdb, table: windows, mode: append } }
  - { id: late_rows, kind: jsonl, inputs: [per_user.late], config: { path: late.jsonl } }
`;
  }

  /** What run directory `cwd` wrote: `expected` messages are waited for (one more shows duplicates). */
  async outputs(cwd: string, topic: string, expected: number): Promise<Outputs> {
    const messages = (await readTopic(this.bootstrap, topic, { count: expected + 1, idleMs: 5000 })).sort();
    const db = await DuckDBInstance.create(join(cwd, 'out.duckdb'));
    const c = await db.connect();
    const rows = (await c.runAndReadAll('SELECT user, window_start::VARCHAR AS ws, n, total, last_id FROM windows ORDER BY ALL')).getRowObjectsJson();
    c.closeSync();
    db.closeSync();
    return { messages, rows: rows.map((r) => JSON.stringify(r)) };
  }

  /** A run without faults: what the others must equal. */
  async faultFree(name: string, expected: number): Promise<Outputs> {
    const { cwd, topic } = await this.prepare(name);
    const r = abflow(['run', 'plan.yaml'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    // Per-partition event time: however the partitions' fetches interleave, no row is late, so runs are comparable.
    expect(lateRows(cwd)).toBe('');
    return this.outputs(cwd, topic, expected);
  }
}

/** The rows a run sent to its late output. */
export const lateRows = (cwd: string) => (existsSync(join(cwd, 'late.jsonl')) ? readFileSync(join(cwd, 'late.jsonl'), 'utf8') : '');

/** What `got` lacks and what it has too often, against `expected` (multisets; the first 5 of each). */
export function difference(expected: readonly string[], got: readonly string[]) {
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

/** Both outputs of a run equal the reference's. */
export function expectSameOutputs(reference: Outputs, got: Outputs, context = ''): void {
  expect(difference(reference.rows, got.rows), `the DuckDB table\n${context}`).toEqual({ lost: [], duplicated: [] });
  expect(difference(reference.messages, got.messages), `the output topic\n${context}`).toEqual({ lost: [], duplicated: [] });
}
