/**
 * NATS JetStream source → dedupe → NATS sink, SIGKILLed mid-run and restarted: every input id arrives in the output
 * stream exactly once (the input holds redelivered duplicates too), and input messages are acknowledged only after
 * their checkpoint.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli, tempDir } from '../kit/cli.js';

const tag = `t${process.pid}${Date.now().toString(36)}`.toUpperCase();
const IN = `ABFLOW_IN_${tag}`;
const OUT = `ABFLOW_OUT_${tag}`;
const N = 30_000;
let nc: NatsConnection;

beforeAll(async () => {
  nc = await connect({ servers: '127.0.0.1:4222' });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: IN, subjects: [`abflow.in.${tag}`] });
  await jsm.streams.add({ name: OUT, subjects: [`abflow.out.${tag}`], duplicate_window: 10 * 60 * 1_000_000_000 });
  const js = jetstream(nc);
  const acks: Promise<unknown>[] = [];
  for (let i = 0; i < N; i++) {
    acks.push(js.publish(`abflow.in.${tag}`, JSON.stringify({ id: `order-${i}`, amount: i % 100 })));
    // Every 10th order arrives twice, as a retrying producer would send it.
    if (i % 10 === 0) acks.push(js.publish(`abflow.in.${tag}`, JSON.stringify({ id: `order-${i}`, amount: i % 100 })));
    if (acks.length > 1000) await Promise.all(acks.splice(0));
  }
  await Promise.all(acks);
}, 60_000);

afterAll(async () => {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(IN).catch(() => undefined);
  await jsm.streams.delete(OUT).catch(() => undefined);
  await nc.drain();
});

it('NATS → dedupe → NATS across a SIGKILL and restart: nothing lost, nothing duplicated', async () => {
  const cwd = tempDir('abflow-nats-');
  writeFileSync(
    join(cwd, 'plan.yaml'),
    `
name: nats_relay
engine: { parallelism: 2, batchSize: 200, queueCapacity: 2, checkpoint: { interval: 200ms } }
sources:
  - id: orders
    kind: nats
    config: { stream: ${IN}, consumer: relay, schema: { id: string, amount: int64 }, ackWait: 2s, idleExit: 5s }
operators:
  - { id: unique_orders, kind: dedupe, inputs: [orders], config: { key: [id], ttl: 1h } }
sinks:
  - { id: out, kind: nats, inputs: [unique_orders], config: { subject: abflow.out.${tag}, msgId: "{{id}}" } }
`,
  );
  const first = await runCli(['run', 'plan.yaml'], { cwd, killAfterOutput: /checkpoint 2 complete/, killAfter: 0 });
  expect(first.signal, first.stderr).toBe('SIGKILL');
  const jsm = await jetstreamManager(nc);
  const midway = (await jsm.streams.info(OUT)).state.messages;
  expect(midway).toBeLessThan(N); // really killed mid-run
  // Messages are acknowledged only once a checkpoint covering their output committed: with output missing, some input
  // is still unacknowledged (delivered and pending, or not yet delivered) — what the restart must deliver again.
  const afterKill = await jsm.consumers.info(IN, 'relay');
  const unacknowledgedAfterKill = afterKill.num_ack_pending + afterKill.num_pending;
  const second = await runCli(['run', 'plan.yaml'], { cwd });
  expect(second.code, second.stderr).toBe(0);
  expect(second.stderr).toMatch(/resumed from checkpoint/);
  const out = await jsm.streams.info(OUT);
  expect(out.state.messages).toBe(N);
  // Read the output back: every id exactly once.
  const consumer = await jetstream(nc).consumers.get(OUT);
  const ids = new Map<string, number>();
  const msgs = await consumer.fetch({ max_messages: N, expires: 5000 });
  for await (const m of msgs) {
    const id = (m.json() as { id: string }).id;
    ids.set(id, (ids.get(id) ?? 0) + 1);
    if (ids.size === N && [...ids.values()].every((c) => c === 1) && m.info.pending === 0) break;
  }
  expect(ids.size).toBe(N);
  expect([...ids.values()].every((c) => c === 1)).toBe(true);
  // Input: everything acknowledged in the end; messages unacknowledged at the kill were redelivered, not lost.
  const info = await jsm.consumers.info(IN, 'relay');
  expect(info.num_ack_pending).toBe(0);
  expect(info.num_pending).toBe(0);
  expect(unacknowledgedAfterKill).toBeGreaterThanOrEqual(N - midway);
}, 120_000);
