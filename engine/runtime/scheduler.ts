/**
 * @module runtime/scheduler
 * Runs a compiled plan. Every vertex is an async loop on the coordinating thread connected by bounded channels:
 * sources pull from their connector only when downstream has room; chain vertices ship batches to the worker pool
 * (up to `parallelism × inFlightPerWorker` at once) and emit results strictly in input order, so output order per
 * source is preserved at any parallelism; sinks and `single` operators run here. Watermarks and end-of-input travel
 * in the same ordered streams as batches; a vertex with several inputs forwards the minimum watermark.
 */
import { mkdirSync, createWriteStream, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import type { RecordBatch } from 'apache-arrow';
import { rowObject } from '../arrow/columns.js';
import { fromIPC, toIPC } from '../arrow/ipc.js';
import type { CompiledPlan, Vertex } from '../compile/compile.js';
import { DEFAULTS } from '../config/defaults.js';
import { AbflowError, isAbflowError } from '../errors.js';
import type { OperatorSpec, Sink, SinkSpec, SourceSpec } from '../operator.js';
import { Channel, ChannelClosed, type Element } from './channel.js';
import { instantiate, operatorFailure } from './chain.js';
import { BatchCollector } from './collector.js';
import { WorkerPool } from './pool.js';
import type { ChainResult, NodeCounters } from './protocol.js';

export const MAX_WATERMARK = Number.MAX_SAFE_INTEGER;

export interface NodeMetrics {
  readonly id: string;
  readonly kind: string;
  readonly role: 'source' | 'operator' | 'sink' | 'dead_letters';
  /** A source whose raw input is decoded in the pool: rowsIn counts raw records (lines), rowsOut decoded rows. */
  readonly decoded: boolean;
  rowsIn: number;
  rowsOut: number;
  dead: number;
  discarded: number;
  busyMs: number;
}

export interface Progress {
  readonly elapsedMs: number;
  readonly rowsIn: number;
  readonly rowsOut: number;
}

export interface JobResult {
  readonly durationMs: number;
  readonly nodes: readonly NodeMetrics[];
  readonly channels: readonly { readonly name: string; readonly capacity: number; readonly maxDepth: number }[];
  readonly rowsIn: number;
  readonly rowsOut: number;
  readonly deadLetters: number;
  readonly stopped: boolean;
}

export interface RunOptions {
  /** Module URLs exporting `abflowComponents`, loaded by the pool workers. */
  readonly modules: readonly string[];
  readonly onProgress?: (p: Progress) => void;
  readonly progressIntervalMs?: number;
  readonly clock?: () => number;
}

interface OutEdge {
  readonly port: string;
  readonly channel: Channel;
}

export class Job {
  private readonly channelsIn = new Map<string, Channel[]>();
  private readonly channelsOut = new Map<string, OutEdge[]>();
  private readonly all: Channel[] = [];
  private readonly metrics = new Map<string, NodeMetrics>();
  private pool: WorkerPool | null = null;
  private failure: Error | null = null;
  private stopping = false;

  constructor(
    readonly plan: CompiledPlan,
    private readonly opts: RunOptions,
  ) {
    for (const e of plan.physical.edges) {
      const ch = new Channel(`${e.port} → ${e.to}`, plan.engine.queueCapacity);
      this.all.push(ch);
      const ins = this.channelsIn.get(e.to) ?? [];
      ins[e.input] = ch;
      this.channelsIn.set(e.to, ins);
      const outs = this.channelsOut.get(e.from) ?? [];
      outs.push({ port: e.port, channel: ch });
      this.channelsOut.set(e.from, outs);
    }
    const zero = { rowsIn: 0, rowsOut: 0, dead: 0, discarded: 0, busyMs: 0 };
    const raw = new Map(plan.nodes.filter((n) => n.id.endsWith('__raw')).map((n) => [n.id.slice(0, -5), n]));
    for (const n of plan.nodes) {
      if (n.id.endsWith('__raw')) continue;
      const src = raw.get(n.id);
      this.metrics.set(n.id, src ? { id: n.id, kind: src.kind, role: 'source', decoded: true, ...zero } : { id: n.id, kind: n.kind, role: n.role, decoded: false, ...zero });
    }
    if (plan.physical.vertices.some((v) => v.type === 'dead_letters'))
      this.metrics.set('dead_letters', { id: 'dead_letters', kind: 'file', role: 'dead_letters', decoded: false, ...zero });
  }

  /** Graceful stop: sources stop reading, in-flight batches drain, sinks flush. */
  stop(): void {
    this.stopping = true;
  }

  async run(): Promise<JobResult> {
    const clock = this.opts.clock ?? (() => performance.now());
    const t0 = clock();
    const chains = this.plan.physical.vertices.filter((v) => v.type === 'chain');
    if (chains.length) {
      this.pool = new WorkerPool({
        threads: this.plan.engine.parallelism,
        data: {
          modules: this.opts.modules,
          chains: Object.fromEntries(chains.map((c) => [c.id, { members: c.type === 'chain' ? c.members : [], external: (this.channelsOut.get(c.id) ?? []).map((o) => o.port) }])),
        },
      });
    }
    const timer = this.opts.onProgress
      ? setInterval(() => this.opts.onProgress!({ elapsedMs: clock() - t0, ...this.totals() }), this.opts.progressIntervalMs ?? 250)
      : null;
    try {
      await Promise.all(this.plan.physical.vertices.map((v) => this.runVertex(v).catch((e: unknown) => this.fail(e, v))));
    } finally {
      if (timer) clearInterval(timer);
      await this.pool?.close();
    }
    if (this.failure) throw this.failure;
    const nodes = [...this.metrics.values()];
    return {
      durationMs: clock() - t0,
      nodes,
      channels: this.all.map((c) => ({ name: c.name, capacity: c.capacity, maxDepth: c.maxDepth })),
      ...this.totals(),
      deadLetters: nodes.reduce((n, m) => n + m.dead, 0),
      stopped: this.stopping,
    };
  }

  private totals(): { rowsIn: number; rowsOut: number } {
    let rowsIn = 0;
    let rowsOut = 0;
    for (const m of this.metrics.values()) {
      if (m.role === 'source') rowsIn += m.decoded ? m.rowsIn : m.rowsOut;
      if (m.role === 'sink') rowsOut += m.rowsIn;
    }
    return { rowsIn, rowsOut };
  }

  private fail(e: unknown, v: Vertex): void {
    if (e instanceof ChannelClosed || (this.failure && e === this.failure)) return;
    if (!this.failure) {
      const nodeId = v.type === 'chain' ? undefined : v.type === 'dead_letters' ? 'dead_letters' : v.node.id.replace(/__raw$/, '');
      this.failure = isAbflowError(e) ? e : operatorFailure(nodeId ?? v.id, v.type, e);
      if (isAbflowError(this.failure) && !this.failure.nodeId && nodeId) this.failure.nodeId = nodeId;
    }
    this.stopping = true;
    for (const c of this.all) c.close(this.failure);
  }

  private async emit(vertex: string, port: string, el: Element): Promise<void> {
    for (const o of this.channelsOut.get(vertex) ?? []) if (o.port === port) await o.channel.push(el);
  }

  private async broadcast(vertex: string, el: Element): Promise<void> {
    for (const o of this.channelsOut.get(vertex) ?? []) await o.channel.push(el);
  }

  private runVertex(v: Vertex): Promise<void> {
    switch (v.type) {
      case 'source':
        return this.runSource(v);
      case 'chain':
        return this.runChain(v);
      case 'single':
        return this.runSingle(v);
      case 'sink':
        return this.runSink(v);
      case 'dead_letters':
        return this.runDeadLetters(v);
    }
  }

  private async runSource(v: Extract<Vertex, { type: 'source' }>): Promise<void> {
    const n = v.node;
    const origin = n.id.replace(/__raw$/, '');
    const m = this.metrics.get(origin)!;
    const spec = n.spec as SourceSpec;
    const source = spec.create(n.config, { nodeId: origin, batchSize: this.plan.engine.batchSize, lingerMs: this.plan.engine.lingerMs, outputs: n.outputs });
    const it = source.read()[Symbol.asyncIterator]();
    try {
      while (!this.stopping) {
        const r = await it.next();
        if (r.done) break;
        const { batch, port = 'out', positions } = r.value;
        // A source with a decoder is counted by its decoder (lines in, rows out); raw batches are not rows yet.
        if (n.id === origin) m.rowsOut += batch.numRows;
        await this.emit(v.id, `${n.id}.${port}`, { t: 'batch', batch, ...(positions ? { positions } : {}), origin });
      }
    } finally {
      if (this.stopping) await it.return?.();
    }
    await this.broadcast(v.id, { t: 'watermark', ms: MAX_WATERMARK });
    await this.broadcast(v.id, { t: 'end' });
  }

  private async runChain(v: Extract<Vertex, { type: 'chain' }>): Promise<void> {
    const input = this.channelsIn.get(v.id)![0]!;
    // In-flight tasks in input order; its capacity bounds the batches inside the pool.
    const fifo = new Channel<Promise<(ChainResult & { origin?: string }) | Element>>(`${v.id} in flight`, v.parallelism * DEFAULTS.inFlightPerWorker);
    this.all.push(fifo as unknown as Channel);
    // A failing emitter must fail the job at once: the dispatcher may be waiting on the full in-flight queue.
    const emitter = (async () => {
      for (;;) {
        const r = await (await fifo.pull());
        if ('t' in r) {
          await this.broadcast(v.id, r);
          if (r.t === 'end') return;
          continue;
        }
        this.count(r.counters);
        for (const o of r.outputs) {
          const batch = fromIPC(o.ipc);
          await this.emit(v.id, o.port, { t: 'batch', batch, ...(o.positions ? { positions: o.positions } : {}), ...(r.origin ? { origin: r.origin } : {}) });
        }
      }
    })().catch((e: unknown) => {
      this.fail(e, v);
      throw e;
    });
    for (;;) {
      const el = await input.pull();
      if (el.t !== 'batch') {
        await fifo.push(Promise.resolve(el));
        if (el.t === 'end') break;
        continue;
      }
      const ipc = toIPC(el.batch);
      const task = this.pool!.run({ type: 'process', chain: v.id, ipc, ...(el.positions ? { positions: el.positions.slice() } : {}), ...(el.origin ? { origin: el.origin } : {}) });
      const origin = el.origin;
      const tagged = task.then((r) => (origin ? { ...r, origin } : r));
      tagged.catch(() => undefined); // observed by the emitter; avoid an unhandled rejection while queued
      await fifo.push(tagged);
    }
    await emitter;
  }

  private count(counters: readonly NodeCounters[]): void {
    for (const c of counters) {
      const m = this.metrics.get(c.nodeId);
      if (!m) continue;
      m.rowsIn += c.rowsIn;
      m.rowsOut += c.rowsOut;
      m.dead += c.dead;
      m.discarded += c.discarded;
      m.busyMs += c.busyMs;
    }
  }

  /** Pulls all inputs of a vertex, handling one element at a time; resolves when every input has ended. */
  private async merge(id: string, handle: (el: Element, input: number) => Promise<void>): Promise<void> {
    const inputs = this.channelsIn.get(id) ?? [];
    let serial = Promise.resolve();
    await Promise.all(
      inputs.map(async (ch, i) => {
        for (;;) {
          const el = await ch.pull();
          serial = serial.then(() => handle(el, i));
          await serial;
          if (el.t === 'end') return;
        }
      }),
    );
  }

  private async runSingle(v: Extract<Vertex, { type: 'single' }>): Promise<void> {
    const n = v.node;
    const m = this.metrics.get(n.id)!;
    const op = instantiate(n.spec as OperatorSpec, n.id, n.rawConfig, [...n.inputSchemas], { ...n.outputs });
    const inputs = this.channelsIn.get(v.id)?.length ?? 0;
    const marks = new Array<number>(inputs).fill(-Infinity);
    let emitted = -Infinity;
    let ended = 0;
    const counters: NodeCounters = { nodeId: n.id, rowsIn: 0, rowsOut: 0, dead: 0, discarded: 0, busyMs: 0 };
    const flush = async (col: BatchCollector, origin?: string) => {
      this.count([counters]);
      Object.assign(counters, { rowsIn: 0, rowsOut: 0, dead: 0, discarded: 0, busyMs: 0 });
      for (const e of col.emitted) {
        const port = `${n.id}.${e.port}`;
        if (!(this.channelsOut.get(v.id) ?? []).some((o) => o.port === port)) m.discarded += e.batch.numRows;
        await this.emit(v.id, port, { t: 'batch', batch: e.batch, ...(e.positions ? { positions: e.positions } : {}), ...(origin ? { origin } : {}) });
      }
    };
    await this.merge(v.id, async (el, i) => {
      if (el.t === 'batch') {
        const col = new BatchCollector(n.id, el.batch, el.positions, el.origin, counters);
        counters.rowsIn += el.batch.numRows;
        const t = performance.now();
        try {
          await op.processBatch(el.batch, col, i);
        } catch (e) {
          throw operatorFailure(n.id, n.kind, e);
        }
        counters.busyMs += performance.now() - t;
        await flush(col, el.origin);
      } else if (el.t === 'watermark') {
        marks[i] = Math.max(marks[i]!, el.ms);
        const combined = Math.min(...marks);
        if (combined > emitted) {
          emitted = combined;
          await this.broadcast(v.id, { t: 'watermark', ms: combined });
        }
      } else if (++ended === inputs) {
        if (op.close) {
          const empty = { numRows: 0 } as RecordBatch;
          const col = new BatchCollector(n.id, empty, undefined, undefined, counters);
          await op.close(col);
          await flush(col);
        }
        await this.broadcast(v.id, { t: 'end' });
      }
    });
  }

  private async runSink(v: Extract<Vertex, { type: 'sink' }>): Promise<void> {
    const n = v.node;
    const m = this.metrics.get(n.id)!;
    const sink: Sink = (n.spec as SinkSpec).create(n.config, { nodeId: n.id, inputs: n.inputSchemas });
    try {
      await sink.open?.();
      await this.merge(v.id, async (el, i) => {
        if (el.t !== 'batch') return;
        const t = performance.now();
        await sink.write(el.batch, i);
        m.busyMs += performance.now() - t;
        m.rowsIn += el.batch.numRows;
      });
    } catch (e) {
      await sink.abort?.().catch(() => undefined);
      throw isAbflowError(e) ? e : new AbflowError('sink_io', `sink '${n.id}' (${n.kind}) failed: ${(e as Error).message}`, { nodeId: n.id, cause: e, domain: 'external' });
    }
    if (this.failure) {
      await sink.abort?.();
      return;
    }
    const t = performance.now();
    await sink.close();
    m.busyMs += performance.now() - t;
  }

  private async runDeadLetters(v: Extract<Vertex, { type: 'dead_letters' }>): Promise<void> {
    const m = this.metrics.get('dead_letters')!;
    let out: WriteStream | null = null;
    await this.merge(v.id, async (el) => {
      if (el.t !== 'batch') return;
      if (!out) {
        mkdirSync(dirname(v.path), { recursive: true });
        out = createWriteStream(v.path, { flags: 'w' });
      }
      let text = '';
      for (let i = 0; i < el.batch.numRows; i++) text += JSON.stringify(rowObject(el.batch, i)) + '\n';
      m.rowsIn += el.batch.numRows;
      if (!out.write(text)) await new Promise<void>((r) => out!.once('drain', () => r()));
    });
    const stream = out as WriteStream | null;
    if (stream) await new Promise<void>((resolve, reject) => stream.end((e?: Error | null) => (e ? reject(e) : resolve())));
  }
}

export async function runJob(plan: CompiledPlan, opts: RunOptions): Promise<JobResult> {
  return new Job(plan, opts).run();
}
