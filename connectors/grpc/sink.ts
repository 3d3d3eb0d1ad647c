/**
 * `grpc` sink: a job's output for `abflow serve`'s gRPC `Subscribe` call — every batch, as Arrow IPC, to each
 * client subscribed at the time (a live tail; with no subscriber the rows are counted and let go). Runs only inside
 * `abflow serve`.
 */
import { defineSink, z } from '../../engine/api.js';
import { hub, type Subscription } from './hub.js';

export const grpcSink = defineSink({
  kind: 'grpc',
  summary: 'Streams the rows to clients of the gRPC Subscribe call of `abflow serve` (a live tail of a job’s output).',
  config: z.object({}).strict(),
  examples: [{ title: 'Scored payments to subscribers', yaml: 'id: live_scores\nkind: grpc\ninputs: [scored]' }],
  create(_cfg, ctx) {
    const subscribers = new Set<Subscription>();
    const unregister = hub.registerTap(`${ctx.job}/${ctx.nodeId}`, {
      schema: ctx.inputs[0]!,
      subscribe(s) {
        subscribers.add(s);
        return () => subscribers.delete(s);
      },
    });
    const end = () => {
      unregister();
      for (const s of subscribers) s.close();
      subscribers.clear();
    };
    return {
      write(batch) {
        for (const s of subscribers) s.send(batch);
      },
      async close() {
        end();
      },
      async abort() {
        end();
      },
    };
  },
});
