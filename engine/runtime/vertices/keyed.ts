/**
 * @module runtime/vertices/keyed
 * Drives a keyed operator: partition k runs on keyed thread k (keyed-pool.ts), owning its share of the key groups.
 * Rows arrive already split by key; watermarks and ends go to every partition; the vertex's event time is the
 * combination of its partitions' (`EventTime`). A barrier has every partition snapshot after everything sent before
 * it, and follows their output. Requests per partition are bounded (backpressure) and their replies handled in order.
 */
import { toIPC } from '../../arrow/ipc.js';
import type { Vertex } from '../../compile/compile.js';
import { schemaToJson } from '../../compile/schema-json.js';
import { DEFAULTS } from '../../config/defaults.js';
import { AbflowError } from '../../errors.js';
import type { KeyedState, OperatorSpec } from '../../operator.js';
import { EventTime } from '../../time/watermark.js';
import { readAligned } from '../align.js';
import type { KeyedReply, KeyedRequest, KeyedVertexData } from '../keyed-host.js';
import type { KeyedThread } from '../keyed-pool.js';
import { keyGroupOf, partitionOfKeyGroup } from '../partition.js';
import { fingerprint } from '../recovery.js';
import { TICK_MS, type VertexRuntime } from './runtime.js';

type KeyedVertex = Extract<Vertex, { type: 'keyed' }>;
type WithoutSeq<T> = T extends unknown ? Omit<T, 'seq' | 'vertex'> : never;

interface Partition {
  readonly thread: KeyedThread;
  seq: number;
  readonly pending: Map<number, (r: KeyedReply) => void>;
  inFlight: number;
  readonly waiters: (() => void)[];
  /** Replies are handled in this order. */
  tail: Promise<void>;
}

const IN_FLIGHT_PER_PARTITION = DEFAULTS.inFlightPerWorker * 2;

class KeyedDriver {
  private readonly partitions: Partition[];
  private readonly eventTime: EventTime;
  private ended = 0;

  constructor(
    private readonly v: KeyedVertex,
    private readonly rt: VertexRuntime,
  ) {
    this.partitions = Array.from({ length: v.parallelism }, (_, k) => {
      const p: Partition = { thread: rt.keyed.thread(k, v.id), seq: 0, pending: new Map(), inFlight: 0, waiters: [], tail: Promise.resolve() };
      p.thread.pending.set(v.id, p.pending);
      return p;
    });
    this.eventTime = new EventTime(v.parallelism);
  }

  async run(): Promise<void> {
    const { v, rt } = this;
    await Promise.all(this.partitions.map((p) => p.thread.channel.ready));
    await this.open();
    const processingTime = (v.node.spec as OperatorSpec).processingTime?.(v.node.config as never);
    const ticker = processingTime
      ? setInterval(() => this.partitions.forEach((_, k) => void this.send(k, { type: 'tick', now: rt.clock.now() }).catch(() => undefined)), TICK_MS)
      : undefined;
    try {
      await readAligned(
        rt.wiring.inputs(v.id),
        async (el, input) => {
          if (el.t === 'batch') {
            // Producers split rows by key before they reach a keyed vertex (emit, or toExits in worker threads).
            if (el.partition === undefined && this.partitions.length > 1)
              throw new AbflowError('internal', `unpartitioned batch reached keyed operator '${v.node.id}'`, { domain: 'internal' });
            const ipc = toIPC(el.batch);
            const positions = el.positions?.slice();
            await this.send(
              el.partition ?? 0,
              { type: 'batch', input, ipc, ...(positions ? { positions } : {}), ...(el.origin ? { origin: el.origin } : {}) },
              [ipc.buffer as ArrayBuffer, ...(positions ? [positions.buffer as ArrayBuffer] : [])],
            );
          } else if (el.t === 'watermark') {
            for (let k = 0; k < this.partitions.length; k++) await this.send(k, { type: 'watermark', input, ms: el.ms, idle: el.idle === true });
          } else {
            clearInterval(ticker);
            for (let k = 0; k < this.partitions.length; k++) await this.send(k, { type: 'end', input });
          }
        },
        (id) => this.snapshot(id),
      );
      await Promise.all(this.partitions.map((p) => p.tail));
    } finally {
      clearInterval(ticker);
    }
  }

  /** Opens every partition with its key groups' share of the saved state (gathered from every old partition). */
  private async open(): Promise<void> {
    const { v, rt } = this;
    const n = v.node;
    const data: KeyedVertexData = {
      nodeId: n.id,
      kind: n.kind,
      rawConfig: n.rawConfig,
      inputs: n.inputSchemas.map(schemaToJson),
      outputs: Object.fromEntries(Object.entries(n.outputs).map(([p, s]) => [p, schemaToJson(s)])),
      exits: rt.wiring.exitsOf(v.id),
    };
    const saved = rt.stateOf(v.id).map((b) => b.value as KeyedState);
    const restoreFor = (k: number): KeyedState | undefined =>
      saved.length
        ? { entries: saved.flatMap((st) => st.entries.filter(([key]) => partitionOfKeyGroup(keyGroupOf(key), v.parallelism) === k)), shared: saved[0]!.shared }
        : undefined;
    const opened = await Promise.all(
      this.partitions.map((_, k) => {
        const restore = restoreFor(k);
        return this.send(k, { type: 'open', data: restore ? { ...data, restore } : data });
      }),
    );
    await Promise.all(opened.map((o) => o.done));
  }

  /** Barrier `id`: every partition snapshots after everything sent before it; the barrier follows their output. */
  private async snapshot(id: number): Promise<void> {
    const { v, rt } = this;
    const sent = await Promise.all(this.partitions.map((_, k) => this.send(k, { type: 'snapshot' })));
    const replies = await Promise.all(sent.map((o) => o.done));
    const print = fingerprint(v);
    rt.coordinator?.ack(
      v.id,
      id,
      replies.map((r, k) => ({ vertex: v.id, part: k, fingerprint: print, value: r.state ?? { entries: [] } })),
    );
    await rt.wiring.broadcast(v.id, { t: 'barrier', id });
  }

  private async onReply(k: number, r: KeyedReply): Promise<void> {
    const { v, rt } = this;
    if (r.error) throw new AbflowError('operator_failed', r.error.message, { nodeId: v.node.id });
    rt.count([r.counters]);
    await rt.wiring.emitWire(v.id, r.outputs);
    if (r.watermark) this.eventTime.set(k, r.watermark);
    if (r.ended) this.ended++;
    const change = this.eventTime.advance();
    if (change) await rt.wiring.broadcast(v.id, { t: 'watermark', ms: change.ms, ...(change.idle ? { idle: true } : {}) });
    if (this.ended === this.partitions.length && r.ended) await rt.wiring.broadcast(v.id, { t: 'end' });
  }

  /** Posts a request once the partition has room (backpressure) and returns at once; `done` settles when its reply
   * was handled, or fails with the job. */
  private async send(k: number, req: WithoutSeq<KeyedRequest>, transfer: ArrayBuffer[] = []): Promise<{ readonly done: Promise<KeyedReply> }> {
    const { v, rt } = this;
    const p = this.partitions[k]!;
    while (p.inFlight >= IN_FLIGHT_PER_PARTITION && !rt.failure) await new Promise<void>((r) => p.waiters.push(r));
    if (rt.failure) throw rt.failure;
    p.inFlight++;
    const seq = ++p.seq;
    const reply = new Promise<KeyedReply>((resolve) => p.pending.set(seq, resolve));
    p.thread.channel.post({ ...req, seq, vertex: v.id } as KeyedRequest, transfer);
    // Replies are handled in order per partition; a slot frees only once its outputs were pushed downstream.
    let handled!: (r: KeyedReply) => void;
    let broken!: (e: unknown) => void;
    const done = new Promise<KeyedReply>((resolve, reject) => ((handled = resolve), (broken = reject)));
    done.catch(() => undefined); // the job's failure is reported by rt.fail; those who await `done` still see it
    p.tail = p.tail
      .then(() => reply)
      .then(async (r) => {
        p.pending.delete(seq);
        await this.onReply(k, r);
        p.inFlight--;
        p.waiters.shift()?.();
        handled(r);
      })
      .catch((e: unknown) => {
        rt.fail(e, v);
        broken(e);
        for (const w of p.waiters.splice(0)) w();
      });
    // In an object: an async function returning `done` itself would resolve only with the reply, and every batch
    // would wait for the round trip of the one before.
    return { done };
  }
}

export function runKeyed(v: KeyedVertex, rt: VertexRuntime): Promise<void> {
  return new KeyedDriver(v, rt).run();
}
