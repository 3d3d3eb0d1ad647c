/**
 * `nats` sink: publishes each row as a JSON message to JetStream, awaiting every publish acknowledgement. Each
 * message carries a `Nats-Msg-Id` (a template, or a digest of the row), so JetStream drops a republished row within
 * the stream's duplicate window: rows replayed after a crash are not duplicated downstream.
 */
import { createHash } from 'node:crypto';
import type { jetstream } from '@nats-io/jetstream';
import { AbflowError, compileJsonTemplate, compileTemplate, defineSink, type JsonTemplate, render, rowObject, z } from '../../engine/api.js';
import { connectionConfig, jetstreamLib, natsConnect } from './connection.js';

const config = z
  .object({
    ...connectionConfig,
    subject: z.string().min(1).describe('Subject template, e.g. "payments.scored" or "alerts.{{merchant_id}}".'),
    body: z.unknown().optional().describe('JSON message template (default: the row).'),
    msgId: z.string().optional().describe('Template of the deduplication id (default: a digest of the row).'),
    inFlight: z.number().int().min(1).max(10_000).default(512).describe('Publishes awaiting acknowledgement at most.'),
  })
  .strict();

const json = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));

export const natsSink = defineSink({
  kind: 'nats',
  summary: 'Publishes rows as JSON to NATS JetStream with a deduplication id per row.',
  config,
  examples: [
    {
      title: 'Scored payments to JetStream',
      yaml: 'id: scored_out\nkind: nats\ninputs: [scored]\nconfig:\n  subject: "payments.scored.{{merchant_id}}"\n  msgId: "{{payment_id}}"',
    },
  ],
  display: (cfg) => ({ subject: cfg.subject }),
  check(cfg, [input]) {
    compileTemplate(cfg.subject, input!, ['subject']);
    if (cfg.msgId) compileTemplate(cfg.msgId, input!, ['msgId']);
    if (cfg.body !== undefined) compileJsonTemplate(cfg.body, input!, ['body'], new Set());
  },
  create(cfg, ctx) {
    const input = ctx.inputs[0]!;
    const subject = compileTemplate(cfg.subject, input, ['subject']);
    const msgId = cfg.msgId ? compileTemplate(cfg.msgId, input, ['msgId']) : undefined;
    const body: JsonTemplate = cfg.body === undefined ? (row) => row : compileJsonTemplate(cfg.body, input, ['body'], new Set());
    let nc: Awaited<ReturnType<typeof natsConnect>> | undefined;
    let js: ReturnType<typeof jetstream> | undefined;
    return {
      async open() {
        nc = await natsConnect(cfg, ctx.nodeId);
        js = jetstreamLib().jetstream(nc);
      },
      async write(batch) {
        const acks: Promise<unknown>[] = [];
        for (let i = 0; i < batch.numRows; i++) {
          const row = rowObject(batch, i);
          const payload = json(body(row));
          const id = msgId ? render(msgId, row) : createHash('sha256').update(payload).digest('hex');
          acks.push(js!.publish(render(subject, row), payload, { msgID: id }));
          if (acks.length >= cfg.inFlight) await Promise.all(acks.splice(0));
        }
        await Promise.all(acks).catch((e: Error) => {
          throw new AbflowError('sink_io', `nats '${ctx.nodeId}': publish failed: ${e.message}`, { domain: 'external', nodeId: ctx.nodeId });
        });
      },
      async close() {
        await nc?.drain();
      },
      async abort() {
        await nc?.close();
      },
    };
  },
});
