/**
 * @module runtime/vertices/source
 * Drives a source: pulls it only when downstream has room, injects checkpoint barriers where the source can resume
 * from (with its position), tells it when a checkpoint covering its output committed, and ends with the end-of-input
 * watermark. A source with a decoder emits raw records; its decoder (a chain) counts them.
 */
import type { Vertex } from '../../compile/compile.js';
import { columnData, numbersOf, stringsOf } from '../../arrow/columns.js';
import { DEAD_LETTER_COLUMNS, DEAD_LETTER_PORT } from '../../deadletter.js';
import type { Source, SourceOutput, SourceSpec } from '../../operator.js';
import type { Coordinator } from '../../state/coordinator.js';
import { MAX_WATERMARK } from '../../time/watermark.js';
import { fingerprint } from '../recovery.js';
import type { VertexRuntime } from './runtime.js';

type SourceVertex = Extract<Vertex, { type: 'source' }>;

class SourceDriver {
  private readonly origin: string;
  private readonly spec: SourceSpec;
  private readonly source: Source;
  private readonly coordinator: Coordinator | null;
  private resumeAfter: unknown;
  /** Barriers go only where the source can resume from: the start, and after outputs carrying `resumeAfter`. */
  private resumable = true;
  private injected: number;
  private markers: unknown[] = [];
  /** The newest watermark the source reported (sources that track event time). */
  private watermark = -Infinity;
  /** Checkpoint id → the position it covers, for `Source.committed`. */
  private readonly positions = new Map<number, unknown>();

  constructor(
    private readonly v: SourceVertex,
    private readonly rt: VertexRuntime,
  ) {
    const n = v.node;
    this.origin = n.decodedBy ?? n.id;
    this.spec = n.spec as SourceSpec;
    this.coordinator = rt.coordinator;
    const e = rt.plan.engine;
    this.source = this.spec.create(n.config, {
      nodeId: this.origin,
      job: rt.plan.name,
      batchSize: e.batchSize,
      lingerMs: e.lingerMs,
      outputs: n.outputs,
      checkpointing: this.coordinator !== null,
      clock: rt.clock,
      warn: (m) => rt.warn(`'${this.origin}': ${m}`),
    });
    this.resumeAfter = rt.stateOf(v.id)[0]?.value ?? null;
    this.injected = this.coordinator?.beforeFirst ?? 0;
    this.listen();
  }

  private listen(): void {
    const { source } = this;
    if (source.rejected && this.v.node.decodedBy) {
      const rejected = source.rejected.bind(source);
      this.rt.wiring.onRejected(`${this.origin}.${DEAD_LETTER_PORT}`, (batch) => {
        const positions = numbersOf(columnData(batch, DEAD_LETTER_COLUMNS.position));
        rejected(
          [...positions],
          stringsOf(columnData(batch, DEAD_LETTER_COLUMNS.reason)) as string[],
          stringsOf(columnData(batch, DEAD_LETTER_COLUMNS.raw)) as string[],
        );
      });
    }
    this.coordinator?.whenCommitted(async (id) => {
      if (!this.positions.has(id)) return;
      const at = this.positions.get(id);
      this.positions.delete(id);
      await source.committed!(at);
    });
  }

  /** Barrier `id` carries the source's position: everything emitted before it is covered by that checkpoint. */
  private async inject(id: number): Promise<void> {
    this.coordinator!.ack(this.v.id, id, [{ vertex: this.v.id, part: 0, fingerprint: fingerprint(this.v), value: this.resumeAfter }]);
    this.coordinator!.addMarkers(id, this.v.id, this.markers);
    this.markers = [];
    if (this.source.committed) this.positions.set(id, this.resumeAfter);
    await this.rt.wiring.broadcast(this.v.id, { t: 'barrier', id });
  }

  private async injectUpTo(id: number): Promise<void> {
    while (this.injected < id) await this.inject(++this.injected);
  }

  /** Injects every barrier requested so far (more may be requested meanwhile). */
  private async injectRequested(coordinator: Coordinator): Promise<void> {
    while (coordinator.latestRequest > this.injected) await this.inject(++this.injected);
  }

  async run(): Promise<void> {
    try {
      const exhausted = await this.read();
      // The end-of-input watermark fires every window. A job stopped with checkpoints keeps its windows open instead:
      // the last checkpoint holds them, and the next run continues them.
      if (exhausted || !this.coordinator) await this.rt.wiring.broadcast(this.v.id, { t: 'watermark', ms: MAX_WATERMARK });
      if (this.coordinator && !this.rt.failure) await this.lastCheckpoints(this.coordinator, exhausted);
      await this.rt.wiring.broadcast(this.v.id, { t: 'end' });
      // The source acknowledges the last checkpoint upstream before it lets go of its connection.
      if (this.coordinator && this.source.close) await this.rt.failed.race(this.coordinator.finalDone);
    } finally {
      await this.source.close?.();
    }
  }

  /** Reads until the source is exhausted (true) or the job stops. */
  private async read(): Promise<boolean> {
    const { rt, coordinator } = this;
    const it = this.source.read(this.resumeAfter ?? undefined)[Symbol.asyncIterator]();
    // A source that drives checkpoints ends its read at its next resumable point when stopped: output past the last
    // one must not be committed, as the next run reads it again (an Airbyte connector goes on to its next STATE).
    const toResumable = () => this.spec.drivesCheckpoints === true && !this.resumable && coordinator !== null && !rt.failure;
    try {
      while (!rt.stopping || toResumable()) {
        if (this.resumable && coordinator) await this.injectRequested(coordinator);
        // A stop must not wait for a silent source's next batch (stdin, an idle queue): race it against the stop.
        const r: IteratorResult<SourceOutput> | 'stop' = toResumable() ? await it.next() : await rt.stopped.race(it.next());
        if (r === 'stop') return false;
        if (r.done) return true;
        if (!(await this.output(r.value))) return false;
      }
      return false;
    } finally {
      // Not awaited: a generator suspended in an await only returns once that await settles.
      if (rt.stopping) void it.return?.()?.catch(() => undefined);
    }
  }

  /** Emits one output; false when the job failed while a checkpoint it asked for was being requested. */
  private async output(out: SourceOutput): Promise<boolean> {
    const { v, rt, coordinator } = this;
    const { batch, port = 'out', positions: rows } = out;
    this.resumable = out.resumeAfter !== undefined;
    if (this.resumable) this.resumeAfter = out.resumeAfter;
    if (out.markers) this.markers.push(...out.markers);
    // A source with a decoder is counted by its decoder (lines in, rows out); raw batches are not rows yet.
    if (!v.node.decodedBy) rt.metrics.node(this.origin).rowsOut += batch.numRows;
    if (batch.numRows) await rt.wiring.emit(v.id, `${v.node.id}.${port}`, { t: 'batch', batch, ...(rows ? { positions: rows } : {}), origin: this.origin });
    if (out.watermark !== undefined && out.watermark > this.watermark) {
      this.watermark = out.watermark;
      await rt.wiring.broadcast(v.id, { t: 'watermark', ms: out.watermark });
    }
    if (out.checkpoint && this.resumable && coordinator) {
      await this.injectRequested(coordinator);
      const id = await rt.failed.race(coordinator.requestNow());
      if (id === null) return false; // the job failed while earlier checkpoints were in flight
      await this.injectUpTo(id);
    }
    return true;
  }

  /** Keeps answering checkpoint requests until the last checkpoint (taken once every source is done) is injected. */
  private async lastCheckpoints(coordinator: Coordinator, exhausted: boolean): Promise<void> {
    const last = coordinator.sourceDone(this.v.id, exhausted);
    let lastId = Infinity;
    void last.then((id) => (lastId = id));
    this.resumable = true; // exhausted: the end is where a finished run stops
    while (this.injected < lastId) {
      // A failing commit ends the checkpoints: the final one will never be requested.
      const id = await this.rt.failed.race(Promise.race([last, coordinator.nextRequest(this.injected)]));
      if (id === null) break;
      await this.injectUpTo(id);
    }
  }
}

export function runSource(v: SourceVertex, rt: VertexRuntime): Promise<void> {
  return new SourceDriver(v, rt).run();
}
