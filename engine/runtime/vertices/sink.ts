/**
 * @module runtime/vertices/sink
 * Drives a sink: writes in arrival order with barriers aligned; at a barrier the sink stages its output
 * (`preCommit`) and acknowledges; when the coordinator reports the checkpoint durable, the sink commits it — so
 * output becomes visible exactly when the state that produced it is. On failure nothing more is committed and the
 * sink aborts. Columns a sink does not read (source text) are dropped before it sees a batch.
 */
import type { Vertex } from '../../compile/compile.js';
import type { SinkSpec } from '../../operator.js';
import { withoutSourceText } from '../../types.js';
import { readAligned } from '../align.js';
import { ObservedSink } from '../observed.js';
import { TICK_MS, type VertexRuntime } from './runtime.js';

/** Source vertices that feed `vertex`, in plan order (whose markers a sink receives). */
function upstreamSources(rt: VertexRuntime, vertex: string): string[] {
  const found = new Set<string>();
  const visit = (id: string) => {
    for (const e of rt.plan.physical.edges) if (e.to === id && !found.has(e.from)) (found.add(e.from), visit(e.from));
  };
  visit(vertex);
  return rt.plan.physical.vertices.filter((x) => x.type === 'source' && found.has(x.id)).map((x) => x.id);
}

export async function runSink(v: Extract<Vertex, { type: 'sink' }>, rt: VertexRuntime): Promise<void> {
  const n = v.node;
  const m = rt.metrics.node(n.id);
  const spec = n.spec as SinkSpec;
  const edges = rt.plan.physical.edges.filter((e) => e.to === v.id).sort((a, b) => a.input - b.input);
  const kept = spec.readsSourceText ? [] : edges.map((e) => withoutSourceText(e.schema).kept);
  const { coordinator } = rt;
  const sink = new ObservedSink(
    n.id,
    n.kind,
    spec.create(n.config, {
      nodeId: n.id,
      job: rt.plan.name,
      inputs: n.inputSchemas,
      clock: rt.clock,
      ...(coordinator
        ? { checkpointing: { resumeFrom: rt.resumeFrom, lastComplete: rt.lastComplete, firstId: coordinator.beforeFirst + 1, durable: coordinator.durable } }
        : {}),
    }),
  );
  let metricsReadAt = 0;
  // Writes, stagings and commits of one sink happen one at a time, in order; commits run beside the others when the
  // sink allows it (they are still in order among themselves: the coordinator completes one checkpoint at a time).
  let ops = Promise.resolve();
  const serially = (f: () => Promise<void>) => (ops = ops.then(f));
  const sources = upstreamSources(rt, v.id);
  const commit = async (id: number) => sink.sink.commit?.(id, coordinator!.markersOf(id, sources));
  coordinator?.whenComplete((id) =>
    (sink.sink.concurrentCommits ? commit(id) : serially(() => commit(id))).catch((e: unknown) => Promise.reject(sink.named(e))),
  );
  // On failure: a commit under way finishes before the sink lets go of its resources, and no other starts.
  const abandon = async () => {
    await coordinator?.halt();
    await ops.catch(() => undefined);
    await sink.sink.abort?.().catch(() => undefined);
  };
  const report = () => {
    rt.count([sink.take()]);
    const extra = sink.metrics();
    if (extra) m.extra = extra;
  };
  try {
    await sink.sink.open?.();
    await readAligned(
      rt.wiring.inputs(v.id),
      async (el, i) => {
        if (el.t !== 'batch') return;
        await serially(async () => {
          await sink.write(kept[i] ? el.batch.selectAt(kept[i]!) : el.batch, i, el.positions);
          // Sink counters may be costly to compute (percentiles): read them at the metrics tick, not per batch.
          if (rt.clock.monotonic() - metricsReadAt >= TICK_MS) {
            report();
            metricsReadAt = rt.clock.monotonic();
          } else rt.count([sink.take()]);
        });
      },
      async (id) => {
        await serially(async () => sink.sink.preCommit?.(id));
        coordinator?.ack(v.id, id);
      },
    );
    // With checkpoints, the last commit happens when the last checkpoint completes.
    if (coordinator) await rt.failed.race(coordinator.finalDone);
    await ops;
  } catch (e) {
    await abandon();
    throw sink.named(e);
  }
  if (rt.failure) return abandon();
  await sink.close();
  report();
}
