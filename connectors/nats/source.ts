/**
 * `nats` source: a JetStream durable pull consumer. Message payloads are JSON objects, decoded in the worker pool
 * like JSON lines (malformed ones become dead letters with their stream sequence). A message is acknowledged only
 * after the checkpoint that covers it is complete (every sink committed it); until then it stays pending in
 * JetStream, and after a crash the server redelivers it (after `ackWait`) — at least once, and exactly once in
 * effect behind `dedupe` or an idempotent sink. Run it with `engine.checkpoint`: without checkpoints nothing is
 * acknowledged, and the next run receives the same messages again. Keep the checkpoint interval well below
 * `ackWait`, or pending messages are redelivered while the job runs.
 */
import type { JsMsg } from '@nats-io/jetstream';
import { AbflowError, columnTypeSchema, defineSource, duration, fieldsOf, schemaOf, type SourceOutput, z } from '../../engine/api.js';
import { LINES_SCHEMA, messagesBatch } from '../jsonl/lines.js';
import { connectionConfig, jetstreamLib, natsConnect } from './connection.js';

const config = z
  .object({
    ...connectionConfig,
    stream: z.string().min(1).describe('JetStream stream.'),
    consumer: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/)
      .describe('Durable consumer name (created if missing).'),
    subject: z.string().optional().describe('Filter subject for a created consumer.'),
    schema: z.record(z.string(), columnTypeSchema).describe('Columns to read from each JSON message: name → type.'),
    ackWait: duration().default(60_000).describe('Redelivery delay of unacknowledged messages, for a created consumer.'),
    maxAckPending: z
      .number()
      .int()
      .positive()
      .default(100_000)
      .describe('Messages awaiting acknowledgement at most, for a created consumer (must cover a checkpoint interval).'),
    maxMessageBytes: z
      .number()
      .int()
      .positive()
      .default(1 << 20)
      .describe('Larger messages are dead-lettered.'),
    idleExit: duration().optional().describe('End the input after this long without a message (batch-style runs); default: run until stopped.'),
  })
  .strict();

/** How many messages this run delivered downstream: redeliveries arrive out of stream order, so acknowledgements
 * follow delivery order, not stream sequence. */
interface Position {
  readonly delivered: number;
}

export const natsSource = defineSource({
  kind: 'nats',
  summary: 'Reads JSON messages from a NATS JetStream durable consumer, acknowledged after each checkpoint.',
  config,
  examples: [
    {
      title: 'Orders from JetStream',
      yaml: 'id: orders\nkind: nats\nconfig:\n  stream: ORDERS\n  consumer: abflow_orders\n  subject: orders.>\n  schema: { order_id: string, amount: float64, created_at: timestamp }',
    },
  ],
  display: (cfg) => ({ stream: cfg.stream, consumer: cfg.consumer }),
  outputSchemas: (cfg) => ({ out: schemaOf(cfg.schema) }),
  decoder: (cfg, outputs) => ({
    kind: 'json_decode',
    config: { schema: Object.fromEntries(fieldsOf(outputs.out!).map((f) => [f.name, f.type])), maxLineBytes: cfg.maxMessageBytes },
    input: LINES_SCHEMA,
  }),
  create(cfg, ctx) {
    /** Delivered, not yet acknowledged, in delivery order. */
    const pending: JsMsg[] = [];
    let acked = 0;
    let delivered = 0;
    let nc: Awaited<ReturnType<typeof natsConnect>> | undefined;
    const ackUpTo = (n: number) => {
      const k = Math.min(pending.length, n - acked);
      for (let i = 0; i < k; i++) pending[i]!.ack();
      pending.splice(0, k);
      acked += Math.max(0, k);
    };
    return {
      describePosition: (seq) => `${cfg.stream} seq ${seq}`,
      async *read(): AsyncGenerator<SourceOutput> {
        nc = await natsConnect(cfg, ctx.nodeId);
        try {
          const { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } = jetstreamLib();
          const jsm = await jetstreamManager(nc);
          await jsm.consumers
            .info(cfg.stream, cfg.consumer)
            .catch(async (e: Error) => {
              if (!/consumer not found/i.test(e.message)) throw e;
              await jsm.consumers.add(cfg.stream, {
                durable_name: cfg.consumer,
                ack_policy: AckPolicy.Explicit,
                deliver_policy: DeliverPolicy.All,
                ack_wait: cfg.ackWait * 1_000_000,
                max_ack_pending: cfg.maxAckPending,
                ...(cfg.subject ? { filter_subject: cfg.subject } : {}),
              });
            })
            .catch((e: Error) => {
              throw new AbflowError('source_io', `'${ctx.nodeId}': stream ${cfg.stream}, consumer ${cfg.consumer}: ${e.message}`, {
                domain: 'external',
                nodeId: ctx.nodeId,
              });
            });
          const consumer = await jetstream(nc).consumers.get(cfg.stream, cfg.consumer);
          let lastMessage = ctx.clock.now();
          for (;;) {
            const texts: string[] = [];
            const lengths: number[] = [];
            const positions: number[] = [];
            const batch = await consumer.fetch({ max_messages: ctx.batchSize, expires: Math.max(1000, ctx.lingerMs) });
            for await (const m of batch) {
              // A message over the limit keeps only its start: the decoder dead-letters it by its true length.
              texts.push(Buffer.from(m.data.subarray(0, Math.min(m.data.length, cfg.maxMessageBytes + 1))).toString('utf8'));
              lengths.push(m.data.length);
              positions.push(m.seq);
              pending.push(m);
              delivered++;
            }
            if (positions.length) lastMessage = ctx.clock.now();
            else if (cfg.idleExit !== undefined && ctx.clock.now() - lastMessage >= cfg.idleExit) return;
            // Also when idle: the position is yielded anyway, so checkpoints — and the acknowledgements — keep coming.
            yield { batch: messagesBatch(texts, lengths), positions: Float64Array.from(positions), resumeAfter: { delivered } satisfies Position };
          }
        } finally {
          await nc.drain().catch(() => undefined);
        }
      },
      committed(at) {
        // A position of an earlier run (the restored checkpoint) covers nothing this run delivered.
        ackUpTo((at as Position | null)?.delivered ?? 0);
      },
    };
  },
});
