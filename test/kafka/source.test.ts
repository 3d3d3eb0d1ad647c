/**
 * The `kafka` source against a real broker: a JSON topic over three partitions read to its end (bounded) with
 * metadata columns; non-JSON values, a 10 MB message and a tombstone are dead letters naming topic, partition and
 * offset; offsets are committed to the group only after the checkpoint, and a second run continues from them; a run
 * after a finished one continues after it whatever `startFrom` says.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Producer, stringSerializers } from '@platformatic/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { abflow, tempDir } from '../kit/cli.js';
import { HAS_KAFKA, KafkaBroker } from '../kit/kafka.js';

let broker: KafkaBroker;
beforeAll(async () => {
  if (HAS_KAFKA) broker = await KafkaBroker.start();
}, 120_000);
afterAll(async () => broker?.close());

async function produce(topic: string, messages: { key: string; value: string | null; partition: number }[]) {
  // Idempotent: a retried send (a new topic's leaders still settling) must not write a message twice.
  const p = new Producer({ clientId: 'test', bootstrapBrokers: [broker.bootstrap], serializers: stringSerializers, idempotent: true });
  try {
    for (let i = 0; i < messages.length; i += 500)
      await p.send({ messages: messages.slice(i, i + 500).map((m) => ({ topic, key: m.key, value: m.value as string, partition: m.partition })) });
  } finally {
    await p.close();
  }
}

const lines = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

const plan = (topic: string, group: string, startFrom = 'committed') => `
name: kafka_read
engine: { checkpoint: { path: state.duckdb, interval: 200ms } }
sources:
  - id: orders
    kind: kafka
    config:
      bootstrapServers: ${broker.bootstrap}
      topics: [${topic}]
      groupId: ${group}
      startFrom: ${startFrom}
      bounded: latest
      schema: { id: int64, amount: float64 }
      metadata: [partition, offset, key]
sinks:
  - { id: out, kind: jsonl, inputs: [orders], config: { path: out/rows.jsonl } }
  - { id: dlq, kind: jsonl, inputs: [orders.dead_letter], config: { path: out/dead.jsonl } }
`;

describe.skipIf(!HAS_KAFKA)('kafka source', () => {
  it('reads every partition to its end, dead-letters bad values with their place, and commits offsets after checkpoints', async () => {
    const topic = `orders_${Date.now()}`;
    await broker.createTopic(topic, 3);
    const messages: { key: string; value: string | null; partition: number }[] = Array.from({ length: 3000 }, (_, i) => ({
      key: `k${i}`,
      value: JSON.stringify({ id: i, amount: i / 2 }),
      partition: i % 3,
    }));
    messages[100] = { key: 'bad', value: 'not json', partition: 1 };
    messages[200] = { key: 'gone', value: null, partition: 2 };
    messages[301] = { key: 'big', value: JSON.stringify({ id: 301, amount: 1, pad: 'x'.repeat(10 << 20) }), partition: 1 };
    await produce(topic, messages);

    const cwd = tempDir();
    writeFileSync(join(cwd, 'plan.yaml'), plan(topic, `g_${topic}`));
    const r = abflow(['run', 'plan.yaml'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/trying again on a new connection/); // a healthy broker needs no second try
    const rows = lines(join(cwd, 'out/rows.jsonl'));
    expect(rows).toHaveLength(2997);
    expect(new Set(rows.map((x) => x.id)).size).toBe(2997);
    const row7 = rows.find((x) => x.id === 7)!;
    expect(row7).toEqual({ id: 7, amount: 3.5, _kafka_partition: 1, _kafka_offset: 2, _kafka_key: 'k7' });
    const dead = lines(join(cwd, 'out/dead.jsonl'));
    expect(dead.map((d) => d.reason).sort()).toEqual([
      expect.stringMatching(new RegExp(`^${topic}\\[1\\]@100: line of \\d+ bytes exceeds maxLineBytes`)),
      expect.stringMatching(new RegExp(`^${topic}\\[1\\]@33: invalid JSON`)),
      `${topic}[2]@66: message has no value (a tombstone)`,
    ]);
    expect(dead.every((d) => d.source === 'orders')).toBe(true);

    // More messages, and a second run of the same group from a fresh state: it continues from the committed offsets.
    await produce(
      topic,
      Array.from({ length: 30 }, (_, i) => ({ key: `n${i}`, value: JSON.stringify({ id: 5000 + i, amount: 0 }), partition: i % 3 })),
    );
    const again = tempDir();
    writeFileSync(join(again, 'plan.yaml'), plan(topic, `g_${topic}`));
    const r2 = abflow(['run', 'plan.yaml'], { cwd: again });
    expect(r2.code, r2.stderr).toBe(0);
    expect(lines(join(again, 'out/rows.jsonl')).map((x) => x.id)).toEqual(expect.arrayContaining(Array.from({ length: 30 }, (_, i) => 5000 + i)));
    expect(lines(join(again, 'out/rows.jsonl'))).toHaveLength(30);
  }, 180_000);

  it('continues after a finished run from its checkpoint: startFrom only places the first run', async () => {
    const topic = `again_${Date.now()}`;
    await broker.createTopic(topic, 2);
    const batch = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => ({ key: `k${from + i}`, value: JSON.stringify({ id: from + i, amount: 1 }), partition: i % 2 }));
    await produce(topic, batch(0, 100));
    const cwd = tempDir();
    writeFileSync(join(cwd, 'plan.yaml'), plan(topic, `g_${topic}`, 'earliest'));
    const first = abflow(['run', 'plan.yaml'], { cwd });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).not.toMatch(/trying again on a new connection/);
    expect(lines(join(cwd, 'out/rows.jsonl')), first.stderr).toHaveLength(100);
    await produce(topic, batch(100, 10));
    const r = abflow(['run', 'plan.yaml'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/the previous run finished .* orders continues from its last committed position/);
    expect(
      lines(join(cwd, 'out/rows.jsonl'))
        .map((x) => x.id)
        .sort((a, b) => Number(a) - Number(b)),
    ).toEqual(Array.from({ length: 10 }, (_, i) => 100 + i));
  }, 120_000);
});
