/**
 * @module runtime/vertices/chain
 * Drives a fused chain: ships batches to the worker pool (up to `parallelism × inFlightPerWorker` at once), or runs
 * them here when every member is columns-only, and emits results strictly in input order, so output order per source
 * is the same at any parallelism. A chain holding a watermark generator folds its per-batch candidates into a running
 * maximum, in order, and marks its stream idle after the generator's idle timeout.
 */
import type { AnySpec } from '../../operator.js';
import type { Vertex } from '../../compile/compile.js';
import { toIPC } from '../../arrow/ipc.js';
import { DEFAULTS } from '../../config/defaults.js';
import { Registry } from '../../registry.js';
import { IdlenessTimer, MAX_WATERMARK, MIN_WATERMARK } from '../../time/watermark.js';
import { ChainExecutor, type ChainOutput } from '../chain.js';
import { Channel, type Element } from '../channel.js';
import type { ChainResult, NodeCounters } from '../protocol.js';
import { fingerprint } from '../recovery.js';
import { TICK_MS, type VertexRuntime } from './runtime.js';

type ChainVertex = Extract<Vertex, { type: 'chain' }>;

/** A chain task's result: from the pool as IPC bytes per exit, or from an inline chain as batches per port. */
type ChainDone = (ChainResult | { readonly batches: readonly ChainOutput[]; readonly counters: NodeCounters[]; readonly watermark?: number }) & {
  origin?: string;
};

class ChainDriver {
  /** In-flight tasks in input order; its capacity bounds the batches inside the pool. */
  private readonly fifo: Channel<Promise<ChainDone | Element>>;
  /** A columns-only chain runs here, on the batch as it is (OperatorSpec.columnsOnly). */
  private readonly here: ChainExecutor | null;
  /** Watermark generation: the running maximum of the generator's per-batch candidates, in input order. */
  private generated: number;
  private idle = false;
  private emitting = Promise.resolve();

  constructor(
    private readonly v: ChainVertex,
    private readonly rt: VertexRuntime,
  ) {
    this.fifo = new Channel<Promise<ChainDone | Element>>(`${v.id} in flight`, v.parallelism * DEFAULTS.inFlightPerWorker);
    rt.wiring.track(this.fifo as unknown as Channel);
    const specs = v.members.map((m) => rt.plan.nodes.find((n) => n.id === m.nodeId)!.spec as AnySpec);
    this.here = v.inline
      ? new ChainExecutor(
          v.members,
          rt.wiring.exitsOf(v.id).map((e) => e.port),
          new Registry(specs, { override: true }),
        )
      : null;
    this.generated = (rt.stateOf(v.id)[0]?.value as { generated: number } | undefined)?.generated ?? MIN_WATERMARK;
  }

  /** Emission is serial: results, watermarks and idleness leave in the order they were decided. */
  private serial(f: () => Promise<void>): Promise<void> {
    return (this.emitting = this.emitting.then(f));
  }

  async run(): Promise<void> {
    const idleness = this.v.idleTimeoutMs !== undefined ? new IdlenessTimer(this.v.idleTimeoutMs, this.rt.clock.monotonic()) : null;
    const idleCheck = idleness ? setInterval(() => this.checkIdle(idleness), TICK_MS) : undefined;
    // A failing emitter must fail the job at once: the dispatcher may be waiting on the full in-flight queue.
    const emitter = this.emit().catch((e: unknown) => {
      this.rt.fail(e, this.v);
      throw e;
    });
    emitter.catch(() => undefined); // awaited below; the dispatcher may leave first when the failure closes its input
    try {
      await this.dispatch(idleness);
      await emitter;
    } finally {
      clearInterval(idleCheck);
    }
  }

  private checkIdle(idleness: IdlenessTimer): void {
    if (this.idle || !idleness.checkIfIdle(this.rt.clock.monotonic())) return;
    this.serial(async () => {
      this.idle = true;
      await this.rt.wiring.broadcast(this.v.id, { t: 'watermark', ms: this.generated, idle: true });
    }).catch(() => undefined);
  }

  /** Reads the input and starts a task per batch, queueing tasks and control elements in input order. */
  private async dispatch(idleness: IdlenessTimer | null): Promise<void> {
    const { v, rt, fifo } = this;
    const input = rt.wiring.inputs(v.id)[0]!;
    for (;;) {
      const el = await input.pull();
      if (el.t !== 'batch') {
        await fifo.push(Promise.resolve(el));
        if (el.t === 'end') return;
        continue;
      }
      idleness?.activity(this.rt.clock.monotonic());
      let task: Promise<ChainDone>;
      if (this.here)
        task = this.here
          .run(el.batch, el.positions, el.origin)
          .then(({ outputs, counters, watermark }) => ({ batches: outputs, counters, ...(watermark > -Infinity ? { watermark } : {}) }));
      else {
        const ipc = toIPC(el.batch);
        await rt.warmed;
        task = rt.pool!.run({
          type: 'process',
          chain: v.id,
          ipc,
          ...(el.positions ? { positions: el.positions.slice() } : {}),
          ...(el.origin ? { origin: el.origin } : {}),
        });
      }
      const origin = el.origin;
      const tagged = task.then((r) => (origin ? { ...r, origin } : r));
      tagged.catch(() => undefined); // observed by the emitter; avoid an unhandled rejection while queued
      await fifo.push(tagged);
    }
  }

  /** Emits finished tasks and control elements in input order. */
  private async emit(): Promise<void> {
    const { v, rt } = this;
    for (;;) {
      const r = await await this.fifo.pull();
      if (!('t' in r)) {
        rt.count(r.counters);
        await this.serial(() => this.emitResult(r));
        continue;
      }
      // A generating chain replaces upstream watermarks; the final one (end of input) still passes.
      if (r.t === 'watermark' && v.generatesWatermarks && r.ms < MAX_WATERMARK) continue;
      if (r.t === 'barrier') {
        const id = r.id;
        await this.serial(async () =>
          rt.coordinator?.ack(v.id, id, [{ vertex: v.id, part: 0, fingerprint: fingerprint(v), value: { generated: this.generated } }]),
        );
      }
      if (r.t !== 'batch') await this.serial(() => rt.wiring.broadcast(v.id, r));
      if (r.t === 'end') return;
    }
  }

  private async emitResult(r: ChainDone): Promise<void> {
    const { v, rt } = this;
    if ('batches' in r) await rt.wiring.emitBatches(v.id, r.batches, r.origin);
    else await rt.wiring.emitWire(v.id, r.outputs, r.origin);
    if (v.generatesWatermarks && r.watermark !== undefined && (r.watermark > this.generated || this.idle)) {
      this.generated = Math.max(this.generated, r.watermark);
      this.idle = false;
      await rt.wiring.broadcast(v.id, { t: 'watermark', ms: this.generated });
    }
  }
}

export function runChain(v: ChainVertex, rt: VertexRuntime): Promise<void> {
  return new ChainDriver(v, rt).run();
}
