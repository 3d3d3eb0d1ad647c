/**
 * `grpc` source: Arrow record batches streamed in over `abflow serve`'s gRPC `Ingest` call (the sidecar pattern:
 * an application hands its events to the abflow beside it without files or a broker). Batches must have the
 * declared schema (names and types); others are refused to the client, never half-read. Backpressure reaches the
 * client: a batch is accepted only when the job has room. Runs only inside `abflow serve`.
 */
import { columnTypeSchema, defineSource, emptyBatch, type RecordBatch, schemaOf, type SourceOutput, z } from '../../engine/api.js';
import { hub } from './hub.js';

const config = z
  .object({
    schema: z.record(z.string(), columnTypeSchema).describe('Columns of the batches clients send: name → type.'),
    endAfterIngest: z.boolean().default(false).describe('End the input when an Ingest stream completes (batch-style jobs).'),
  })
  .strict();

export const grpcSource = defineSource({
  kind: 'grpc',
  summary: 'Arrow record batches streamed in over the gRPC Ingest call of `abflow serve` (sidecar ingest).',
  config,
  examples: [
    { title: 'Events from the application next door', yaml: 'id: events\nkind: grpc\nconfig:\n  schema: { user_id: string, action: string, at: timestamp }' },
  ],
  display: (cfg) => ({ columns: Object.keys(cfg.schema).join(', ') }),
  outputSchemas: (cfg) => ({ out: schemaOf(cfg.schema) }),
  create(cfg, ctx) {
    const schema = schemaOf(cfg.schema);
    const waiting: { batch: RecordBatch; taken: () => void }[] = [];
    let wake: (() => void) | undefined;
    let ended = false;
    let seq = 0;
    return {
      describePosition: (p) => `ingested row ${p}`,
      async *read(): AsyncGenerator<SourceOutput> {
        const unregister = hub.registerIngest(`${ctx.job}/${ctx.nodeId}`, {
          schema,
          push: (batch) =>
            new Promise<void>((taken) => {
              waiting.push({ batch, taken });
              wake?.();
            }),
          finished() {
            if (cfg.endAfterIngest) ended = true;
            wake?.();
          },
        });
        try {
          for (;;) {
            const next = waiting.shift();
            if (next) {
              const n = next.batch.numRows;
              const positions = Float64Array.from({ length: n }, (_, i) => seq + i + 1);
              seq += n;
              next.taken();
              yield { batch: next.batch, positions, resumeAfter: { seq } };
              continue;
            }
            if (ended) return;
            await new Promise<void>((r) => {
              wake = r;
              setTimeout(r, Math.min(ctx.lingerMs, 200));
            });
            wake = undefined;
            // Idle: the position, so checkpoints keep coming.
            if (!waiting.length && !ended) yield { batch: emptyBatch(schema), resumeAfter: { seq } };
          }
        } finally {
          unregister();
          for (const w of waiting.splice(0)) w.taken();
        }
      },
    };
  },
});
