/**
 * plans/kafka-enrich.yaml against a real broker: Airbyte Kafka-destination messages in, PII masked, every record out
 * once (read_committed) on `<stream>.enriched` keyed by its record id, a non-JSON message dead-lettered with its place.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Producer, stringSerializers } from '@platformatic/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { abflow, ROOT, tempDir } from '../kit/cli.js';
import { HAS_KAFKA, KafkaBroker, readTopic } from '../kit/kafka.js';

let broker: KafkaBroker;
beforeAll(async () => {
  if (HAS_KAFKA) broker = await KafkaBroker.start();
}, 120_000);
afterAll(async () => broker?.close());

describe.skipIf(!HAS_KAFKA)('plans/kafka-enrich.yaml', () => {
  it('masks PII in Airbyte records from Kafka and writes each record once to <stream>.enriched', async () => {
    await broker.createTopic('support_tickets', 2);
    await broker.createTopic('support_tickets.enriched', 2);
    const records = Array.from({ length: 500 }, (_, i) => ({
      _airbyte_ab_id: `id-${i}`,
      _airbyte_stream: 'support_tickets',
      _airbyte_emitted_at: 1_765_000_000_000 + i,
      _airbyte_data: { ticket: i, body: i % 5 ? `printer broken #${i}` : `call me at +1 415 555 01${String(i % 100).padStart(2, '0')} or ann${i}@example.com` },
    }));
    // Idempotent: a retried send (a new topic's leaders still settling) must not write a message twice.
    const p = new Producer({ clientId: 'test', bootstrapBrokers: [broker.bootstrap], serializers: stringSerializers, idempotent: true });
    await p.send({ messages: records.map((r) => ({ topic: 'support_tickets', key: r._airbyte_ab_id, value: JSON.stringify(r) })) });
    await p.send({ messages: [{ topic: 'support_tickets', key: 'broken', value: '{"_airbyte_ab_id": ', partition: 0 }] });
    await p.close();

    const cwd = tempDir();
    const plan = readFileSync(join(ROOT, 'plans/kafka-enrich.yaml'), 'utf8')
      .replaceAll('127.0.0.1:9092', broker.bootstrap)
      .replace('interval: 5s', 'interval: 200ms')
      .replace('groupId: abflow-kafka-enrich', 'groupId: abflow-kafka-enrich\n      bounded: latest');
    writeFileSync(join(cwd, 'plan.yaml'), plan);
    const r = abflow(['run', 'plan.yaml'], { cwd });
    expect(r.code, r.stderr).toBe(0);

    const out = (await readTopic(broker.bootstrap, 'support_tickets.enriched', { count: 501, idleMs: 3000 })).map(
      (v) => JSON.parse(v) as { _airbyte_ab_id: string; _airbyte_data: string; pii_found: string },
    );
    expect(out).toHaveLength(500);
    expect(new Set(out.map((o) => o._airbyte_ab_id)).size).toBe(500);
    const masked = out.find((o) => o._airbyte_ab_id === 'id-5')!;
    expect(masked._airbyte_data).not.toContain('example.com');
    expect(JSON.parse(masked.pii_found)).toEqual(expect.arrayContaining(['email', 'phone']));
    expect(out.find((o) => o._airbyte_ab_id === 'id-6')!._airbyte_data).toContain('printer broken #6');
    const dead = readFileSync(join(cwd, 'out/kafka-enrich-dead-letters.jsonl'), 'utf8').trim().split('\n');
    expect(dead).toHaveLength(1);
    expect((JSON.parse(dead[0]!) as { reason: string }).reason).toMatch(/^support_tickets\[0\]@\d+: invalid JSON/);
  }, 180_000);
});
