/**
 * @module runtime/wiring
 * The channels between a job's vertices and how elements are put on them: per producing port, every consuming edge;
 * batches bound for a hash edge split by key (when the producer did not split them already); watermarks recorded as
 * the vertex's event time. Drivers see only `inputs`, `emit` and `broadcast`.
 */
import { fromIPC } from '../arrow/ipc.js';
import type { CompiledPlan, Edge } from '../compile/compile.js';
import { MAX_WATERMARK } from '../time/watermark.js';
import { Channel, type Element } from './channel.js';
import type { ChainOutput } from './chain.js';
import { partitionBatch } from './partition.js';
import type { ChainExit, PortOutput } from './protocol.js';
import type { RecordBatch } from 'apache-arrow';

interface OutEdge {
  readonly port: string;
  readonly channel: Channel;
  readonly edge: Edge;
  /** Key column indices in the edge schema, for hash edges. */
  readonly hashColumns: readonly number[] | null;
  readonly parallelism: number;
}

export class Wiring {
  private readonly ins = new Map<string, Channel[]>();
  private readonly outs = new Map<string, OutEdge[]>();
  private readonly all: Channel[] = [];
  /** Dead-letter ports whose rejected rows a source wants to hear of (Source.rejected), as they pass here. */
  private readonly rejectedBy = new Map<string, (batch: RecordBatch) => void>();

  constructor(
    plan: CompiledPlan,
    private readonly onWatermark: (vertex: string, ms: number) => void,
  ) {
    for (const e of plan.physical.edges) {
      const ch = new Channel(`${e.port} → ${e.to}`, plan.engine.queueCapacity);
      this.all.push(ch);
      const ins = this.ins.get(e.to) ?? [];
      ins[e.input] = ch;
      this.ins.set(e.to, ins);
      const outs = this.outs.get(e.from) ?? [];
      const target = plan.physical.vertices.find((v) => v.id === e.to)!;
      const hash = typeof e.partitioning === 'object' ? e.partitioning.hash : null;
      outs.push({
        port: e.port,
        channel: ch,
        edge: e,
        hashColumns: hash ? hash.map((k) => e.schema.fields.findIndex((f) => f.name === k)) : null,
        parallelism: target.type === 'keyed' ? target.parallelism : 1,
      });
      this.outs.set(e.from, outs);
    }
  }

  inputs(vertex: string): readonly Channel[] {
    return this.ins.get(vertex) ?? [];
  }

  /** Where a vertex's outputs go, as pool workers and keyed threads address them (exit i = i-th outgoing edge). */
  exitsOf(vertex: string): ChainExit[] {
    return (this.outs.get(vertex) ?? []).map((o) => ({
      port: o.port,
      ...(o.hashColumns && o.parallelism > 1 ? { hash: { columns: o.hashColumns, parallelism: o.parallelism } } : {}),
    }));
  }

  consumes(vertex: string, port: string): boolean {
    return (this.outs.get(vertex) ?? []).some((o) => o.port === port);
  }

  /** A channel of the job's own (a chain's in-flight queue), shown with the edges' queues. */
  track(ch: Channel): void {
    this.all.push(ch);
  }

  /** Source `port`'s dead letters are also handed to `f` as they pass (a decoder's rejected lines). */
  onRejected(port: string, f: (batch: RecordBatch) => void): void {
    this.rejectedBy.set(port, f);
  }

  /** Sends a batch or control element to every edge leaving `vertex` from `port` (every edge when port is null). */
  async emit(vertex: string, port: string | null, el: Element): Promise<void> {
    if (el.t === 'batch' && port !== null) this.rejectedBy.get(port)?.(el.batch);
    for (const o of this.outs.get(vertex) ?? []) {
      if (port !== null && o.port !== port) continue;
      if (el.t === 'batch' && o.hashColumns && o.parallelism > 1 && el.partition === undefined) {
        for (const piece of partitionBatch(el.batch, o.hashColumns, o.parallelism)) {
          const positions = el.positions ? Float64Array.from(piece.rows, (r) => el.positions![r]!) : undefined;
          await o.channel.push({
            t: 'batch',
            batch: piece.batch,
            partition: piece.partition,
            ...(positions ? { positions } : {}),
            ...(el.origin ? { origin: el.origin } : {}),
          });
        }
      } else await o.channel.push(el);
    }
  }

  /** A control element (watermark, barrier, end) to every edge leaving `vertex`. */
  broadcast(vertex: string, el: Exclude<Element, { t: 'batch' }>): Promise<void> {
    if (el.t === 'watermark' && el.ms < MAX_WATERMARK) this.onWatermark(vertex, el.ms);
    return this.emit(vertex, null, el);
  }

  /** Outputs of a pool worker or keyed thread: IPC bytes per exit, already split by key where the exit hashes. */
  async emitWire(vertex: string, outputs: readonly PortOutput[], origin?: string): Promise<void> {
    const outs = this.outs.get(vertex) ?? [];
    for (const o of outputs) {
      const batch = fromIPC(o.ipc);
      this.rejectedBy.get(outs[o.exit]!.port)?.(batch);
      await outs[o.exit]!.channel.push({
        t: 'batch',
        batch,
        ...(o.positions ? { positions: o.positions } : {}),
        ...(origin ? { origin } : {}),
        ...(o.partition !== undefined ? { partition: o.partition } : {}),
      });
    }
  }

  /** Outputs of a chain run on this thread, per port. */
  async emitBatches(vertex: string, outputs: readonly ChainOutput[], origin?: string): Promise<void> {
    for (const o of outputs)
      await this.emit(vertex, o.port, { t: 'batch', batch: o.batch, ...(o.positions ? { positions: o.positions } : {}), ...(origin ? { origin } : {}) });
  }

  closeAll(e: Error): void {
    for (const c of this.all) c.close(e);
  }

  queues(): { name: string; depth: number; capacity: number; maxDepth: number }[] {
    return this.all.map((c) => ({ name: c.name, depth: c.depth, capacity: c.capacity, maxDepth: c.maxDepth }));
  }
}
