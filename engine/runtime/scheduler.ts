/**
 * @module runtime/scheduler
 * Runs a compiled plan. Every vertex is an async loop on the coordinating thread connected by bounded channels:
 * - sources are pulled only when downstream has room;
 * - chain vertices ship batches to the worker pool (up to `parallelism × inFlightPerWorker` at once) and emit results
 *   strictly in input order, so output order per source is the same at any parallelism; a chain holding a watermark
 *   generator folds its per-batch candidates into a running maximum, in order, and marks its stream idle after the
 *   generator's idle timeout;
 * - keyed vertices run their partitions on dedicated keyed threads, thread k hosting partition k of every keyed
 *   vertex (see keyed-host.ts); hash exits are split by key in the thread that produced the rows;
 * - sinks and `single` operators run here.
 * Watermarks and end-of-input travel in the same ordered streams as batches; a vertex with several inputs uses the
 * minimum over its non-idle inputs, and forwards a watermark only after everything it caused.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import type { Worker } from 'node:worker_threads';
import type { RecordBatch } from 'apache-arrow';
import { columnData, numbersOf, rowObject, stringsOf } from '../arrow/columns.js';
import { DEAD_LETTER_COLUMNS, DEAD_LETTER_PORT } from '../deadletter.js';
import { withoutSourceText } from '../types.js';
import { fromIPC, toIPC } from '../arrow/ipc.js';
import type { CompiledPlan, Edge, Vertex } from '../compile/compile.js';
import { schemaToJson } from '../compile/schema-json.js';
import { DEFAULTS } from '../config/defaults.js';
import { AbflowError, isAbflowError } from '../errors.js';
import type { AnySpec, OperatorSpec, Sink, SinkSpec, SourceOutput, SourceSpec } from '../operator.js';
import { Registry } from '../registry.js';
import { combineWatermarks, IdlenessTimer, type InputWatermark, MAX_WATERMARK, MIN_WATERMARK } from '../time/watermark.js';
import { Channel, ChannelClosed, type Element } from './channel.js';
import { Latch } from './latch.js';
import { ChainExecutor, type ChainOutput, instantiate, operatorFailure } from './chain.js';
import { BatchCollector } from './collector.js';
import type { KeyedReply, KeyedRequest, KeyedThreadData, KeyedVertexData } from './keyed-host.js';
import { siblingUrl, startThread } from './loader.js';
import { keyGroupOf, partitionBatch, partitionOfKeyGroup } from './partition.js';
import { Coordinator } from '../state/coordinator.js';
import { type Checkpoint, CheckpointStore, type StateBlob } from '../state/store.js';
import type { KeyedState } from '../operator.js';
import { createHash } from 'node:crypto';
import { WorkerPool } from './pool.js';
import { type ChainExit, type ChainResult, type NodeCounters, type PortOutput, zeroCounters } from './protocol.js';


/** How often idleness and processing-time ticks are checked (Flink's auto-watermark interval). */
const TICK_MS = 200;

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
  /** The operator's own counters (`Operator.metrics`). */
  extra?: Record<string, number>;
  /** Event time the node last forwarded (ms), where watermarks pass through it. */
  watermarkMs?: number;
  /** Processing time per batch, in ms buckets (`BATCH_MS_BUCKETS`, cumulative counts as Prometheus wants). */
  batchMs?: { counts: number[]; sum: number; count: number };
}

/** Upper bounds (ms) of the per-batch processing-time histogram. */
export const BATCH_MS_BUCKETS = [0.1, 0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000];

function observe(m: NodeMetrics, ms: number): void {
  const h = (m.batchMs ??= { counts: new Array<number>(BATCH_MS_BUCKETS.length).fill(0), sum: 0, count: 0 });
  for (let i = 0; i < BATCH_MS_BUCKETS.length; i++) if (ms <= BATCH_MS_BUCKETS[i]!) h.counts[i]!++;
  h.sum += ms;
  h.count++;
}

export interface Progress {
  readonly elapsedMs: number;
  readonly rowsIn: number;
  readonly rowsOut: number;
}

export interface JobResult {
  readonly durationMs: number;
  /** Checkpoint the run resumed from, and the checkpoints it completed (id, duration, bytes). */
  readonly resumedFrom: number | null;
  readonly checkpoints: readonly { readonly id: number; readonly ms: number; readonly bytes: number }[];
  readonly nodes: readonly NodeMetrics[];
  readonly channels: readonly { readonly name: string; readonly capacity: number; readonly maxDepth: number }[];
  readonly rowsIn: number;
  readonly rowsOut: number;
  readonly deadLetters: number;
  readonly stopped: boolean;
}

export interface RunOptions {
  /** Module URLs exporting `abflowComponents`, loaded by the worker threads. */
  readonly modules: readonly string[];
  readonly onProgress?: (p: Progress) => void;
  readonly progressIntervalMs?: number;
  readonly clock?: () => number;
  /** Ignore saved checkpoints and start the job afresh. */
  readonly fromScratch?: boolean;
  /** Messages a user should see (a damaged checkpoint skipped, a finished run restarted). */
  readonly onWarning?: (message: string) => void;
  /** Called once the pool workers have loaded the components and created their operators (the sources start reading
   * at once; chains send their first batch after this), with the checkpoint the run resumed from (null: a fresh start). */
  readonly onStarted?: (run: { readonly resumedFrom: number | null }) => void;
  /** Called after each checkpoint is durable and committed by the sinks. */
  readonly onCheckpoint?: (c: { id: number; ms: number; bytes: number; finished: boolean }) => void;
}

/** Forwards a vertex's event time downstream: each advance once (after `beforeAdvance`, which emits what the
 * advance caused), and idleness once per idle period. */
class EventTimeForwarder {
  private forwarded = MIN_WATERMARK;
  private idle = false;

  constructor(private readonly send: (el: Element) => Promise<void>) {}

  async update(combined: InputWatermark, beforeAdvance?: (ms: number) => Promise<void>): Promise<void> {
    if (!combined.idle && combined.ms > this.forwarded) {
      await beforeAdvance?.(combined.ms);
      this.forwarded = combined.ms;
      this.idle = false;
      await this.send({ t: 'watermark', ms: combined.ms });
    } else if (combined.idle && !this.idle) {
      this.idle = true;
      await this.send({ t: 'watermark', ms: this.forwarded, idle: true });
    }
  }
}

/** A chain task's result: from the pool as IPC bytes per exit, or from an inline chain as batches per port. */
type ChainDone = (ChainResult | { readonly batches: readonly ChainOutput[]; readonly counters: NodeCounters[]; readonly watermark?: number }) & { origin?: string };

type WithoutSeq<T> = T extends unknown ? Omit<T, 'seq' | 'vertex'> : never;

/** A keyed thread and where its replies go: per vertex, the waiting requests of its partition on this thread. */
interface KeyedThread {
  readonly worker: Worker;
  readonly ready: Promise<void>;
  readonly pending: Map<string, Map<number, (r: KeyedReply) => void>>;
}

interface OutEdge {
  readonly port: string;
  readonly channel: Channel;
  readonly edge: Edge;
  /** Key column indices in the edge schema, for hash edges. */
  readonly hashColumns: readonly number[] | null;
  readonly parallelism: number;
}

export class Job {
  private readonly channelsIn = new Map<string, Channel[]>();
  private readonly channelsOut = new Map<string, OutEdge[]>();
  private readonly all: Channel[] = [];
  private readonly metrics = new Map<string, NodeMetrics>();
  /** The plan nodes each vertex runs (a chain runs several): where its watermarks are recorded. */
  private readonly vertexNodes = new Map<string, string[]>();
  private pool: WorkerPool | null = null;
  private readonly workers: Worker[] = [];
  /** Keyed thread k hosts partition k of every keyed vertex (Flink's slot sharing): a plan starts max(parallelism)
   * keyed threads, not one per vertex and partition. Each thread costs ≈ 0.3 s of CPU to load the modules, and on
   * two cores Nexmark q5 (two keyed vertices) ran 7 threads before. */
  private readonly keyedThreads: KeyedThread[] = [];
  private failure: Error | null = null;
  private stopping = false;
  /** Fires on stop (a source waiting for its next batch gives up). */
  private readonly stopped = new Latch<'stop'>();
  /** Fires when the job fails (anything waiting on progress can give up). */
  private readonly failed = new Latch<null>();
  private coordinator: Coordinator | null = null;
  /** Resolves when the pool workers are ready (see run). */
  private warmed: Promise<void> = Promise.resolve();
  private restored: Checkpoint | null = null;
  /** After a finished run: the positions of sources that keep connection state (SourceSpec.connection). */
  private carried: { states: StateBlob[] } | null = null;
  /** Per-vertex barrier alignment: barrier id → inputs arrived, and the waiters of the inputs already blocked. */
  private readonly alignments = new Map<string, { arrived: number; release: (() => void)[] }>();
  private vertexType(id: string): Vertex['type'] {
    return this.plan.physical.vertices.find((v) => v.id === id)!.type;
  }

  /** Vertices whose loop has not ended yet (named by terminate). */
  private readonly running = new Set<string>();
  private grace: NodeJS.Timeout | undefined;
  private readonly terminated = new Latch<undefined>();
  private killed = false;
  private ended = false;
  /** Dead-letter ports of decoders whose source wants to hear of its rejected lines (Source.rejected). */
  private readonly rejectedBy = new Map<string, (batch: RecordBatch) => void>();

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
      const target = plan.physical.vertices.find((v) => v.id === e.to)!;
      const hash = typeof e.partitioning === 'object' ? e.partitioning.hash : null;
      outs.push({
        port: e.port,
        channel: ch,
        edge: e,
        hashColumns: hash ? hash.map((k) => e.schema.fields.findIndex((f) => f.name === k)) : null,
        parallelism: target.type === 'keyed' ? target.parallelism : 1,
      });
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
    for (const v of plan.physical.vertices) {
      const ids = v.type === 'chain' ? v.members.map((m) => m.nodeId) : v.type === 'dead_letters' ? [] : [v.node.id.replace(/__raw$/, '')];
      this.vertexNodes.set(v.id, ids.filter((id) => this.metrics.has(id)));
    }
  }

  /** Graceful stop: sources stop reading, in-flight batches drain, sinks flush. With `graceMs`, a job that has not
   * ended by then is terminated (see terminate). */
  stop(graceMs?: number): void {
    this.stopping = true;
    this.stopped.fire('stop');
    if (graceMs !== undefined && !this.grace) {
      this.grace = setTimeout(() => void this.terminate(`it did not drain within ${graceMs / 1000} s of the stop`), graceMs);
      this.grace.unref();
    }
  }

  /**
   * Ends the job now, whatever its operators are doing (one stuck in a loop, a sink waiting on a dead server): the
   * job fails with `why` and the parts still running, its worker threads are ended (their tasks fail), sinks abort
   * (nothing more is committed). `run()` then rejects with that failure.
   */
  async terminate(why: string): Promise<void> {
    if (this.ended) return;
    const busy = [...this.running].map((id) => {
      const v = this.plan.physical.vertices.find((x) => x.id === id)!;
      const nodes = this.vertexNodes.get(id) ?? [];
      return v.type === 'chain' ? `chain ${nodes.join(' → ')}` : (nodes[0] ?? id);
    });
    // Named first: an operator still running (what does work), else a sink, else a source (which only waits).
    const rank = { chain: 0, keyed: 0, single: 0, sink: 1, dead_letters: 1, source: 2 } as const;
    const order = [...this.running].sort((a, b) => rank[this.vertexType(a)] - rank[this.vertexType(b)]);
    const stuck = order.flatMap((id) => this.vertexNodes.get(id) ?? [])[0];
    this.fail(new AbflowError('operator_failed', `job ${this.plan.name} was terminated: ${why}; still running: ${busy.join(', ') || 'nothing'}`, { domain: 'internal', ...(stuck ? { nodeId: stuck } : {}) }), this.plan.physical.vertices[0]!);
    this.killed = true;
    this.terminated.fire(undefined);
    await Promise.all([this.pool?.destroy(), ...this.workers.map((w) => w.terminate())]);
  }

  private exitsOf(vertexId: string): ChainExit[] {
    return (this.channelsOut.get(vertexId) ?? []).map((o) => ({
      port: o.port,
      ...(o.hashColumns && o.parallelism > 1 ? { hash: { columns: o.hashColumns, parallelism: o.parallelism } } : {}),
    }));
  }

  /** What a vertex is: kind, config and input schemas. Saved state is only restored into an identical vertex. */
  private fingerprint(v: Vertex): string {
    const connection = this.connectionOf(v);
    const shape =
      connection !== undefined
        ? ['connection', v.type === 'source' && v.node.kind, connection]
        : v.type === 'chain'
          ? v.members.map((m) => [m.kind, m.rawConfig, m.inputSchema])
          : v.type === 'dead_letters'
            ? v.path
            : [v.node.kind, v.node.rawConfig, v.node.inputSchemas.map(schemaToJson)];
    return createHash('sha1').update(JSON.stringify(shape)).digest('hex');
  }

  /** The connection a source vertex's position belongs to (SourceSpec.connection), or undefined. */
  private connectionOf(v: Vertex): unknown {
    if (v.type !== 'source') return undefined;
    return (v.node.spec as SourceSpec).connection?.(v.node.config as never);
  }

  private stateOf(vertex: string): StateBlob[] {
    return (this.restored ?? this.carried)?.states.filter((s) => s.vertex === vertex) ?? [];
  }

  private async setupCheckpoints(): Promise<CheckpointStore | null> {
    const cp = this.plan.engine.checkpoint;
    const ids = this.plan.physical.vertices.map((v) => v.id);
    const sourceVertices = this.plan.physical.vertices.filter((v) => v.type === 'source');
    const sources = sourceVertices.map((v) => v.id);
    const fail = (e: unknown) => this.fail(e, this.plan.physical.vertices[0]!);
    if (!cp) {
      // Sources with their own commit points (Airbyte STATE) still get checkpoints, for the commits only.
      if (sourceVertices.some((v) => (v.node.spec as SourceSpec).drivesCheckpoints))
        this.coordinator = new Coordinator(null, ids, sources, this.plan.engine.parallelism, 1, 1, fail, this.opts.onCheckpoint);
      return null;
    }
    const store = await CheckpointStore.open(cp.path);
    let firstId = 1;
    if (this.opts.fromScratch) await store.reset();
    else {
      const { checkpoint, skipped } = await store.latestUsable();
      for (const s of skipped) this.opts.onWarning?.(`${s}; recovering from the previous complete checkpoint`);
      firstId = ((await store.list())[0]?.id ?? 0) + 1;
      this.restored = checkpoint?.finished ? null : checkpoint;
      if (checkpoint?.finished) this.carried = this.carryOver(checkpoint);
      const problems: string[] = [];
      for (const blob of this.restored?.states ?? []) {
        const v = this.plan.physical.vertices.find((x) => x.id === blob.vertex);
        if (!v) problems.push(`\`${blob.vertex}\` has saved state but is no longer in the plan`);
        else if (this.fingerprint(v) !== blob.fingerprint) problems.push(`\`${blob.vertex}\` changed (kind, config or input schema): its saved state cannot be read safely`);
      }
      if (problems.length && this.restored)
        throw new AbflowError('config', `checkpoint ${checkpoint!.id} does not fit this plan:\n  ${[...new Set(problems)].join('\n  ')}`, { hint: 'run with --from-scratch to discard the saved state' });
    }
    this.coordinator = new Coordinator(store, ids, sources, this.plan.engine.parallelism, cp.keep, firstId, fail, this.opts.onCheckpoint);
    if (cp.intervalMs !== null) this.coordinator.start(cp.intervalMs);
    return store;
  }

  /** After a finished run, the positions of sources that keep connection state (an incremental sync continues);
   * everything else starts afresh. A source whose connection changed (other streams) starts afresh too. */
  private carryOver(finished: Checkpoint): { states: StateBlob[] } | null {
    const states: StateBlob[] = [];
    const kept: string[] = [];
    const changed: string[] = [];
    for (const v of this.plan.physical.vertices) {
      if (this.connectionOf(v) === undefined) continue;
      const blob = finished.states.find((s) => s.vertex === v.id);
      if (!blob) continue;
      if (blob.fingerprint === this.fingerprint(v)) {
        states.push(blob);
        kept.push(v.id.replace(/__raw$/, ''));
      } else changed.push(v.id.replace(/__raw$/, ''));
    }
    this.opts.onWarning?.(
      `the previous run finished (checkpoint ${finished.id}); ${kept.length ? `${kept.join(', ')} continue${kept.length === 1 ? 's' : ''} from its last committed position (--from-scratch resets it), everything else starts afresh` : 'starting afresh'}` +
        (changed.length ? `; ${changed.join(', ')}: the connection changed (other streams), so its saved position was not used` : ''),
    );
    return states.length ? { states } : null;
  }

  /** The checkpoint this run resumes from (null: a fresh start; a finished run's output was already committed). */
  private get resumeFrom(): number | null {
    return this.restored?.id ?? null;
  }

  async run(): Promise<JobResult> {
    const clock = this.opts.clock ?? (() => performance.now());
    const t0 = clock();
    const store = await this.setupCheckpoints();
    const chains = this.plan.physical.vertices.filter((v) => v.type === 'chain' && !v.inline);
    if (chains.length) {
      this.pool = new WorkerPool({
        threads: this.plan.engine.parallelism,
        data: {
          modules: this.opts.modules,
          chains: Object.fromEntries(chains.map((c) => [c.id, { members: c.type === 'chain' ? c.members : [], exits: this.exitsOf(c.id) }])),
        },
      });
    }
    const timer = this.opts.onProgress
      ? setInterval(() => this.opts.onProgress!({ elapsedMs: clock() - t0, ...this.totals() }), this.opts.progressIntervalMs ?? 250)
      : null;
    try {
      // Workers load the component modules and create their operators while the sources start; chains send their
      // first batch once that is done, so no batch waits behind module loading inside a worker.
      this.warmed = this.pool ? this.pool.warm(this.plan.engine.parallelism) : Promise.resolve();
      this.warmed.then(() => this.opts.onStarted?.({ resumedFrom: this.resumeFrom }), () => undefined);
      // A terminated job ends here even if one of its parts never returns (a sink stuck on a dead server).
      await this.terminated.race(
        Promise.all(
          this.plan.physical.vertices.map((v) => {
            this.running.add(v.id);
            return this.runVertex(v)
              .catch((e: unknown) => this.fail(e, v))
              .finally(() => this.running.delete(v.id));
          }),
        ),
      );
    } finally {
      this.ended = true;
      clearTimeout(this.grace);
      if (timer) clearInterval(timer);
      // A terminated job does not wait for a commit under way: it may be what is stuck.
      if (this.killed) void this.coordinator?.halt();
      else {
        await this.coordinator?.halt();
        await this.pool?.close();
      }
      await Promise.all(this.workers.map((w) => w.terminate()));
      store?.close();
    }
    if (this.failure) throw this.failure;
    const result = { ...this.status(), durationMs: clock() - t0 };
    const tooMany = this.deadLetterExcess(result.rowsIn, result.deadLetters, 1);
    if (tooMany) throw new AbflowError('dead_letters', `${tooMany} (checked at the end of the run: its output was committed)`, { domain: 'user' });
    return result;
  }

  /** Why the dead letters exceed `engine.maxDeadLetterRatio` once `minRows` rows were read, or null. */
  private deadLetterExcess(rowsIn: number, dead: number, minRows: number): string | null {
    const limit = this.plan.engine.maxDeadLetterRatio;
    if (limit === undefined || rowsIn < minRows || dead <= limit * rowsIn) return null;
    return `${dead} of ${rowsIn} rows read became dead letters (${((100 * dead) / rowsIn).toFixed(1)} %), more than engine.maxDeadLetterRatio ${limit}; see ${this.plan.engine.deadLetters} or the plan's dead-letter sinks`;
  }

  /** The job's counters now (a copy): for services and dashboards while it runs, and the final result. */
  status(): Omit<JobResult, 'durationMs'> & { readonly queues: readonly { readonly name: string; readonly depth: number; readonly capacity: number }[] } {
    const nodes = [...this.metrics.values()].map((m) => ({ ...m, ...(m.extra ? { extra: { ...m.extra } } : {}), ...(m.batchMs ? { batchMs: { ...m.batchMs, counts: [...m.batchMs.counts] } } : {}) }));
    return {
      resumedFrom: this.resumeFrom,
      checkpoints: [...(this.coordinator?.completed ?? [])],
      nodes,
      channels: this.all.map((c) => ({ name: c.name, capacity: c.capacity, maxDepth: c.maxDepth })),
      queues: this.all.map((c) => ({ name: c.name, depth: c.depth, capacity: c.capacity })),
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
      this.failed.fire(null);
    }
    this.stop();
    for (const c of this.all) c.close(this.failure);
  }

  /** Sends a batch or control element to every edge leaving `vertex` from `port` (every edge when port is null).
   * Batches bound for a hash edge that were not split upstream are split here. */
  private async emit(vertex: string, port: string | null, el: Element): Promise<void> {
    for (const o of this.channelsOut.get(vertex) ?? []) {
      if (port !== null && o.port !== port) continue;
      if (el.t === 'batch' && o.hashColumns && o.parallelism > 1 && el.partition === undefined) {
        for (const piece of partitionBatch(el.batch, o.hashColumns, o.parallelism)) {
          const positions = el.positions ? Float64Array.from(piece.rows, (r) => el.positions![r]!) : undefined;
          await o.channel.push({ t: 'batch', batch: piece.batch, partition: piece.partition, ...(positions ? { positions } : {}), ...(el.origin ? { origin: el.origin } : {}) });
        }
      } else await o.channel.push(el);
    }
  }

  private broadcast(vertex: string, el: Element): Promise<void> {
    if (el.t === 'watermark' && el.ms < MAX_WATERMARK) for (const id of this.vertexNodes.get(vertex) ?? []) this.metrics.get(id)!.watermarkMs = el.ms;
    return this.emit(vertex, null, el);
  }

  /** Pushes wire outputs (exit-indexed, from a worker) to their edges. */
  private async emitWire(vertex: string, outputs: readonly PortOutput[], origin?: string): Promise<void> {
    const outs = this.channelsOut.get(vertex) ?? [];
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

  /** A chain's outputs run on this thread: to its exits' channels as they are (inline chains never split by key). */
  private async emitBatches(vertex: string, outputs: readonly ChainOutput[], origin?: string): Promise<void> {
    const outs = this.channelsOut.get(vertex) ?? [];
    for (const o of outputs) {
      this.rejectedBy.get(o.port)?.(o.batch);
      for (const out of outs)
        if (out.port === o.port) await out.channel.push({ t: 'batch', batch: o.batch, ...(o.positions ? { positions: o.positions } : {}), ...(origin ? { origin } : {}) });
    }
  }

  private runVertex(v: Vertex): Promise<void> {
    switch (v.type) {
      case 'source':
        return this.runSource(v);
      case 'chain':
        return this.runChain(v);
      case 'keyed':
        return this.runKeyed(v);
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
    const source = spec.create(n.config, { nodeId: origin, job: this.plan.name, batchSize: this.plan.engine.batchSize, lingerMs: this.plan.engine.lingerMs, outputs: n.outputs, checkpointing: this.coordinator !== null });
    const saved = this.stateOf(v.id)[0];
    if (source.rejected && n.id !== origin) {
      // The decoder's dead letters (port `<source>.dead_letter`), as they pass on this thread.
      const rejected = source.rejected.bind(source);
      this.rejectedBy.set(`${origin}.${DEAD_LETTER_PORT}`, (batch) => {
        const positions = numbersOf(columnData(batch, DEAD_LETTER_COLUMNS.position));
        rejected([...positions], stringsOf(columnData(batch, DEAD_LETTER_COLUMNS.reason)) as string[], stringsOf(columnData(batch, DEAD_LETTER_COLUMNS.raw)) as string[]);
      });
    }
    let resumeAfter: unknown = saved?.value ?? null;
    const it = source.read(resumeAfter ?? undefined)[Symbol.asyncIterator]();
    const coordinator = this.coordinator;
    let injected = coordinator?.beforeFirst ?? 0;
    // Barriers go only where the source can resume from: the start, and after outputs carrying `resumeAfter`.
    let resumable = true;
    let markers: unknown[] = [];
    const positions = new Map<number, unknown>();
    // A barrier carries the source's position: everything emitted before it is covered by that checkpoint.
    const inject = async (id: number) => {
      coordinator!.ack(v.id, id, [{ vertex: v.id, part: 0, fingerprint: this.fingerprint(v), value: resumeAfter }]);
      coordinator!.addMarkers(id, v.id, markers);
      markers = [];
      if (source.committed) positions.set(id, resumeAfter);
      await this.broadcast(v.id, { t: 'barrier', id });
    };
    coordinator?.whenCommitted(async (id) => {
      if (!positions.has(id)) return;
      const at = positions.get(id);
      positions.delete(id);
      await source.committed!(at);
    });
    // A stop must not wait for a silent source's next batch (stdin, an idle queue): race it against the stop.
    let exhausted = false;
    try {
      // A source that drives checkpoints ends its read at its next resumable point when stopped: output past the last
      // one must not be committed, as the next run reads it again (an Airbyte connector goes on to its next STATE).
      const toResumable = () => spec.drivesCheckpoints === true && !resumable && coordinator !== null && !this.failure;
      while (!this.stopping || toResumable()) {
        while (resumable && coordinator && coordinator.latestRequest > injected) await inject(++injected);
        const r: IteratorResult<SourceOutput> | 'stop' = toResumable() ? await it.next() : await this.stopped.race(it.next());
        if (r === 'stop') break;
        if (r.done) {
          exhausted = true;
          break;
        }
        const { batch, port = 'out', positions: rows } = r.value;
        resumable = r.value.resumeAfter !== undefined;
        if (resumable) resumeAfter = r.value.resumeAfter;
        if (r.value.markers) markers.push(...r.value.markers);
        // A source with a decoder is counted by its decoder (lines in, rows out); raw batches are not rows yet.
        if (n.id === origin) m.rowsOut += batch.numRows;
        if (batch.numRows) await this.emit(v.id, `${n.id}.${port}`, { t: 'batch', batch, ...(rows ? { positions: rows } : {}), origin });
        if (r.value.checkpoint && resumable && coordinator) {
          while (coordinator.latestRequest > injected) await inject(++injected);
          const id = await this.failed.race(coordinator.requestNow());
          if (id === null) break; // the job failed while earlier checkpoints were in flight
          while (injected < id) await inject(++injected);
        }
      }
    } finally {
      // Not awaited: a generator suspended in an await only returns once that await settles.
      if (this.stopping) void it.return?.()?.catch(() => undefined);
    }
    // The end-of-input watermark fires every window. A job stopped with checkpoints keeps its windows open instead:
    // the last checkpoint holds them, and the next run continues them.
    if (exhausted || !coordinator) await this.broadcast(v.id, { t: 'watermark', ms: MAX_WATERMARK });
    if (coordinator && !this.failure) {
      // Keep answering checkpoint requests until the last checkpoint (taken once every source is done) is injected.
      const last = coordinator.sourceDone(v.id, exhausted);
      let lastId = Infinity;
      void last.then((id) => (lastId = id));
      resumable = true; // exhausted: the end is where a finished run stops
      while (injected < lastId) {
        // A failing commit ends the checkpoints: the final one will never be requested.
        const id = await this.failed.race(Promise.race([last, coordinator.nextRequest(injected)]));
        if (id === null) break;
        while (injected < id) await inject(++injected);
      }
    }
    await this.broadcast(v.id, { t: 'end' });
  }

  private async runChain(v: Extract<Vertex, { type: 'chain' }>): Promise<void> {
    const input = this.channelsIn.get(v.id)![0]!;
    // In-flight tasks in input order; its capacity bounds the batches inside the pool.
    const fifo = new Channel<Promise<ChainDone | Element>>(`${v.id} in flight`, v.parallelism * DEFAULTS.inFlightPerWorker);
    // A columns-only chain runs here, on the batch as it is (OperatorSpec.columnsOnly).
    const here = v.inline ? new ChainExecutor(v.members, this.exitsOf(v.id).map((e) => e.port), new Registry(v.members.map((m) => this.plan.nodes.find((n) => n.id === m.nodeId)!.spec as AnySpec), { override: true })) : null;
    this.all.push(fifo as unknown as Channel);
    // Watermark generation: the running maximum of the generator's per-batch candidates, in input order.
    let generated = (this.stateOf(v.id)[0]?.value as { generated: number } | undefined)?.generated ?? MIN_WATERMARK;
    let idle = false;
    const idleness = v.idleTimeoutMs !== undefined ? new IdlenessTimer(v.idleTimeoutMs, performance.now()) : null;
    let idleCheck: NodeJS.Timeout | undefined;
    let emitting = Promise.resolve();
    const serial = (f: () => Promise<void>) => (emitting = emitting.then(f));
    if (idleness) {
      idleCheck = setInterval(() => {
        if (!idle && idleness.checkIfIdle(performance.now()))
          serial(async () => {
            idle = true;
            await this.broadcast(v.id, { t: 'watermark', ms: generated, idle: true });
          }).catch(() => undefined);
      }, TICK_MS);
    }
    // A failing emitter must fail the job at once: the dispatcher may be waiting on the full in-flight queue.
    const emitter = (async () => {
      for (;;) {
        const r = await (await fifo.pull());
        if ('t' in r) {
          // A generating chain replaces upstream watermarks; the final one (end of input) still passes.
          if (r.t === 'watermark' && v.generatesWatermarks && r.ms < MAX_WATERMARK) continue;
          if (r.t === 'barrier') {
            const id = r.id;
            await serial(async () => this.coordinator?.ack(v.id, id, [{ vertex: v.id, part: 0, fingerprint: this.fingerprint(v), value: { generated } }]));
          }
          await serial(() => this.broadcast(v.id, r));
          if (r.t === 'end') return;
          continue;
        }
        this.count(r.counters);
        await serial(async () => {
          if ('batches' in r) await this.emitBatches(v.id, r.batches, r.origin);
          else await this.emitWire(v.id, r.outputs, r.origin);
          if (v.generatesWatermarks && r.watermark !== undefined && (r.watermark > generated || idle)) {
            generated = Math.max(generated, r.watermark);
            idle = false;
            await this.broadcast(v.id, { t: 'watermark', ms: generated });
          }
        });
      }
    })().catch((e: unknown) => {
      this.fail(e, v);
      throw e;
    });
    emitter.catch(() => undefined); // awaited below; the dispatcher may leave first when the failure closes its input
    try {
      for (;;) {
        const el = await input.pull();
        if (el.t !== 'batch') {
          await fifo.push(Promise.resolve(el));
          if (el.t === 'end') break;
          continue;
        }
        idleness?.activity(performance.now());
        let task: Promise<ChainDone>;
        if (here) task = here.run(el.batch, el.positions, el.origin).then(({ outputs, counters, watermark }) => ({ batches: outputs, counters, ...(watermark > -Infinity ? { watermark } : {}) }));
        else {
          const ipc = toIPC(el.batch);
          await this.warmed;
          task = this.pool!.run({ type: 'process', chain: v.id, ipc, ...(el.positions ? { positions: el.positions.slice() } : {}), ...(el.origin ? { origin: el.origin } : {}) });
        }
        const origin = el.origin;
        const tagged = task.then((r) => (origin ? { ...r, origin } : r));
        tagged.catch(() => undefined); // observed by the emitter; avoid an unhandled rejection while queued
        await fifo.push(tagged);
      }
      await emitter;
    } finally {
      clearInterval(idleCheck);
    }
  }

  private count(counters: readonly NodeCounters[]): void {
    let dead = false;
    for (const c of counters) {
      dead ||= c.dead > 0;
      const m = this.metrics.get(c.nodeId);
      if (!m) continue;
      m.rowsIn += c.rowsIn;
      m.rowsOut += c.rowsOut;
      m.dead += c.dead;
      m.discarded += c.discarded;
      m.busyMs += c.busyMs;
      if (c.rowsIn > 0) observe(m, c.busyMs);
    }
    if (dead && this.plan.engine.maxDeadLetterRatio !== undefined) {
      // While the run goes: from 1 000 rows on, so the first few rows of a run do not decide it.
      let deadLetters = 0;
      for (const m of this.metrics.values()) deadLetters += m.dead;
      const tooMany = this.deadLetterExcess(this.totals().rowsIn, deadLetters, 1000);
      if (tooMany) this.fail(new AbflowError('dead_letters', tooMany, { domain: 'user', nodeId: 'dead_letters' }), this.plan.physical.vertices[0]!);
    }
  }

  /** Pulls all inputs of a vertex, handling one element at a time; resolves when every input has ended.
   * Checkpoint barriers are aligned: an input that delivered barrier N is not read further until every input has
   * delivered it; then `onBarrier(N)` runs once, in order with the elements handled before it. */
  private async merge(id: string, handle: (el: Element, input: number) => Promise<void>, onBarrier: (checkpoint: number) => Promise<void> = async () => undefined): Promise<void> {
    const inputs = this.channelsIn.get(id) ?? [];
    let serial = Promise.resolve();
    await Promise.all(
      inputs.map(async (ch, i) => {
        for (;;) {
          const el = await ch.pull();
          if (el.t === 'barrier') {
            const key = `${id}#${el.id}`;
            const a = this.alignments.get(key) ?? { arrived: 0, release: [] };
            this.alignments.set(key, a);
            if (++a.arrived < inputs.length) await new Promise<void>((r) => a.release.push(r));
            else {
              this.alignments.delete(key);
              serial = serial.then(() => onBarrier(el.id));
              await serial;
              for (const r of a.release) r();
            }
            continue;
          }
          serial = serial.then(() => handle(el, i));
          await serial;
          if (el.t === 'end') return;
        }
      }),
    );
  }

  private async runKeyed(v: Extract<Vertex, { type: 'keyed' }>): Promise<void> {
    const n = v.node;
    const spec = n.spec as OperatorSpec;
    const data: KeyedVertexData = {
      nodeId: n.id,
      kind: n.kind,
      rawConfig: n.rawConfig,
      inputs: n.inputSchemas.map(schemaToJson),
      outputs: Object.fromEntries(Object.entries(n.outputs).map(([p, s]) => [p, schemaToJson(s)])),
      exits: this.exitsOf(v.id),
    };
    // Restore: gather the saved entries of every old partition and give each new partition its key groups' share.
    const saved = this.stateOf(v.id).map((b) => b.value as KeyedState);
    const restoreFor = (k: number): KeyedState | undefined =>
      saved.length
        ? {
            entries: saved.flatMap((st) => st.entries.filter(([key]) => partitionOfKeyGroup(keyGroupOf(key), v.parallelism) === k)),
            shared: saved[0]!.shared,
          }
        : undefined;
    const partitions = Array.from({ length: v.parallelism }, (_, k) => {
      const thread = this.keyedThread(k, v);
      const p = { thread, seq: 0, pending: new Map<number, (r: KeyedReply) => void>(), inFlight: 0, waiters: [] as (() => void)[], tail: Promise.resolve(), watermark: { ms: MIN_WATERMARK, idle: false } as InputWatermark, ended: false };
      thread.pending.set(v.id, p.pending);
      return p;
    });
    const limit = DEFAULTS.inFlightPerWorker * 2;
    const eventTime = new EventTimeForwarder((el) => this.broadcast(v.id, el));
    let endedCount = 0;
    const onReply = async (p: (typeof partitions)[number], r: KeyedReply) => {
      if (r.error) throw new AbflowError('operator_failed', r.error.message, { nodeId: n.id });
      this.count([r.counters]);
      await this.emitWire(v.id, r.outputs);
      if (r.watermark) p.watermark = r.watermark;
      if (r.ended) {
        p.ended = true;
        endedCount++;
      }
      await eventTime.update(combineWatermarks(partitions.map((x) => x.watermark)));
      if (endedCount === partitions.length && r.ended) await this.broadcast(v.id, { t: 'end' });
    };
    /** Posts a request once the partition has room (backpressure) and returns at once; `done` settles when its
     * reply was handled, or fails with the job. */
    const send = async (k: number, req: WithoutSeq<KeyedRequest>, transfer: ArrayBuffer[] = []): Promise<{ readonly done: Promise<KeyedReply> }> => {
      const p = partitions[k]!;
      while (p.inFlight >= limit && !this.failure) await new Promise<void>((r) => p.waiters.push(r));
      if (this.failure) throw this.failure;
      p.inFlight++;
      const seq = ++p.seq;
      const reply = new Promise<KeyedReply>((resolve) => p.pending.set(seq, resolve));
      p.thread.worker.postMessage({ ...req, seq, vertex: v.id }, transfer);
      // Replies are handled in order per partition; a slot frees only once its outputs were pushed downstream.
      let handled!: (r: KeyedReply) => void;
      let broken!: (e: unknown) => void;
      const done = new Promise<KeyedReply>((resolve, reject) => ((handled = resolve), (broken = reject)));
      done.catch(() => undefined); // the job's failure is reported by this.fail; those who await `done` still see it
      p.tail = p.tail
        .then(() => reply)
        .then(async (r) => {
          p.pending.delete(seq);
          await onReply(p, r);
          p.inFlight--;
          p.waiters.shift()?.();
          handled(r);
        })
        .catch((e: unknown) => {
          this.fail(e, v);
          broken(e);
          for (const w of p.waiters.splice(0)) w();
        });
      // In an object: an async function returning `done` itself would resolve only with the reply, and every batch
      // would wait for the round trip of the one before.
      return { done };
    };
    await Promise.all(partitions.map((p) => p.thread.ready));
    const opened = await Promise.all(
      partitions.map((_, k) => {
        const restore = restoreFor(k);
        return send(k, { type: 'open', data: restore ? { ...data, restore } : data });
      }),
    );
    await Promise.all(opened.map((o) => o.done));
    // A barrier: every partition snapshots after everything sent before it; the barrier follows their output.
    const onBarrier = async (id: number) => {
      const sent = await Promise.all(partitions.map((_, k) => send(k, { type: 'snapshot' })));
      const replies = await Promise.all(sent.map((o) => o.done));
      const fingerprint = this.fingerprint(v);
      this.coordinator?.ack(v.id, id, replies.map((r, k) => ({ vertex: v.id, part: k, fingerprint, value: r.state ?? { entries: [] } })));
      await this.broadcast(v.id, { t: 'barrier', id });
    };
    const ticker = spec.processingTime?.(n.config as never)
      ? setInterval(() => partitions.forEach((_, k) => void send(k, { type: 'tick', now: Date.now() }).catch(() => undefined)), TICK_MS)
      : undefined;
    try {
      await this.merge(v.id, async (el, input) => {
        if (el.t === 'batch') {
          // Producers split rows by key before they reach a keyed vertex (emit, or toExits in worker threads).
          if (el.partition === undefined && partitions.length > 1) throw new AbflowError('internal', `unpartitioned batch reached keyed operator '${n.id}'`, { domain: 'internal' });
          const ipc = toIPC(el.batch);
          const positions = el.positions?.slice();
          await send(el.partition ?? 0, { type: 'batch', input, ipc, ...(positions ? { positions } : {}), ...(el.origin ? { origin: el.origin } : {}) }, [ipc.buffer as ArrayBuffer, ...(positions ? [positions.buffer as ArrayBuffer] : [])]);
        } else if (el.t === 'watermark') {
          for (let k = 0; k < partitions.length; k++) await send(k, { type: 'watermark', input, ms: el.ms, idle: el.idle === true });
        } else {
          if (ticker) clearInterval(ticker);
          for (let k = 0; k < partitions.length; k++) await send(k, { type: 'end', input });
        }
      }, onBarrier);
      await Promise.all(partitions.map((p) => p.tail));
    } finally {
      if (ticker) clearInterval(ticker);
    }
  }

  /** Keyed thread k, started on first use by `starter`. Operator errors come back as replies naming their vertex; a
   * crash of the thread itself is reported against the vertex that started it. */
  private keyedThread(k: number, starter: Vertex): KeyedThread {
    const existing = this.keyedThreads[k];
    if (existing) return existing;
    const worker = startThread(siblingUrl(import.meta.url, 'keyed-worker'), { modules: this.opts.modules });
    this.workers.push(worker);
    const pending = new Map<string, Map<number, (r: KeyedReply) => void>>();
    const ready = new Promise<void>((resolve, reject) => {
      worker.on('message', (r: KeyedReply | { ready: true }) => ('ready' in r ? resolve() : pending.get(r.vertex)?.get(r.seq)?.(r)));
      worker.once('error', reject);
    });
    ready.catch(() => undefined); // reported by the listener below
    worker.on('error', (e) => {
      this.fail(e, starter);
      // No reply will come: answer every waiting request with the error, so the vertices waiting on them finish.
      for (const [vertex, waiting] of pending)
        for (const [seq, reply] of waiting) reply({ seq, vertex, outputs: [], counters: zeroCounters(vertex), error: { message: `keyed thread ${k} stopped: ${e.message}` } });
    });
    return (this.keyedThreads[k] = { worker, ready, pending });
  }

  private async runSingle(v: Extract<Vertex, { type: 'single' }>): Promise<void> {
    const n = v.node;
    const m = this.metrics.get(n.id)!;
    const op = instantiate(n.spec as OperatorSpec, n.id, n.rawConfig, [...n.inputSchemas], { ...n.outputs });
    const inputs = this.channelsIn.get(v.id)?.length ?? 0;
    const marks: InputWatermark[] = Array.from({ length: inputs }, () => ({ ms: MIN_WATERMARK, idle: false }));
    const eventTime = new EventTimeForwarder((el) => this.broadcast(v.id, el));
    let ended = 0;
    const counters = zeroCounters(n.id);
    const empty = { numRows: 0 } as RecordBatch;
    const flush = async (col: BatchCollector, origin?: string) => {
      this.count([counters]);
      Object.assign(counters, zeroCounters(n.id));
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
        if (op.metrics) m.extra = { ...op.metrics() };
        await flush(col, el.origin);
        return;
      }
      if (el.t === 'watermark') marks[i] = { ms: Math.max(marks[i]!.ms, el.ms), idle: el.idle === true };
      else {
        marks[i] = { ms: MAX_WATERMARK, idle: false };
        ended++;
      }
      await eventTime.update(combineWatermarks(marks), async (ms) => {
        const col = new BatchCollector(n.id, empty, undefined, undefined, counters);
        await op.onWatermark?.(ms, col);
        await flush(col);
      });
      if (el.t === 'end' && ended === inputs) {
        if (op.close) {
          const col = new BatchCollector(n.id, empty, undefined, undefined, counters);
          await op.close(col);
          if (op.metrics) m.extra = { ...op.metrics() };
          await flush(col);
        }
        await this.broadcast(v.id, { t: 'end' });
      }
    }, async (id) => {
      this.coordinator?.ack(v.id, id);
      await this.broadcast(v.id, { t: 'barrier', id });
    });
  }

  private async runSink(v: Extract<Vertex, { type: 'sink' }>): Promise<void> {
    const n = v.node;
    const m = this.metrics.get(n.id)!;
    // Columns of each input the sink does not see (source text, see withoutSourceText): dropped from every batch.
    const edges = this.plan.physical.edges.filter((e) => e.to === v.id).sort((a, b) => a.input - b.input);
    const kept = (n.spec as SinkSpec).readsSourceText ? [] : edges.map((e) => withoutSourceText(e.schema).kept);
    const sink: Sink = (n.spec as SinkSpec).create(n.config, {
      nodeId: n.id,
      job: this.plan.name,
      inputs: n.inputSchemas,
      ...(this.coordinator ? { checkpointing: { resumeFrom: this.resumeFrom, durable: this.coordinator.durable } } : {}),
    });
    let metricsReadAt = 0;
    // Writes, stagings and commits of one sink happen one at a time, in order; commits run beside the others when the
    // sink allows it (they are still in order among themselves: the coordinator completes one checkpoint at a time).
    let ops = Promise.resolve();
    const serially = (f: () => Promise<void>) => (ops = ops.then(f));
    const sources = this.upstreamSources(v.id);
    const named = (e: unknown) => (isAbflowError(e) ? e : new AbflowError('sink_io', `sink '${n.id}' (${n.kind}) failed: ${(e as Error).message}`, { nodeId: n.id, cause: e, domain: 'external' }));
    const commit = async (id: number) => sink.commit?.(id, this.coordinator!.markersOf(id, sources));
    this.coordinator?.whenComplete((id) =>
      (sink.concurrentCommits ? commit(id) : serially(() => commit(id))).catch((e: unknown) => {
        throw named(e);
      }),
    );
    // On failure: a commit under way finishes before the sink lets go of its resources, and no other starts.
    const abandon = async () => {
      await this.coordinator?.halt();
      await ops.catch(() => undefined);
      await sink.abort?.().catch(() => undefined);
    };
    try {
      await sink.open?.();
      await this.merge(
        v.id,
        async (el, i) => {
          if (el.t !== 'batch') return;
          await serially(async () => {
            const t = performance.now();
            await sink.write(kept[i] ? el.batch.selectAt(kept[i]!) : el.batch, i, el.positions);
            m.busyMs += performance.now() - t;
            m.rowsIn += el.batch.numRows;
            // Sink counters may be costly to compute (percentiles): read them at the metrics tick, not per batch.
            if (sink.metrics && performance.now() - metricsReadAt >= TICK_MS) {
              m.extra = { ...sink.metrics() };
              metricsReadAt = performance.now();
            }
          });
        },
        async (id) => {
          await serially(async () => sink.preCommit?.(id));
          this.coordinator?.ack(v.id, id);
        },
      );
      // With checkpoints, the last commit happens when the last checkpoint completes.
      if (this.coordinator) await this.failed.race(this.coordinator.finalDone);
      await ops;
    } catch (e) {
      await abandon();
      throw named(e);
    }
    if (this.failure) return abandon();
    const t = performance.now();
    await sink.close();
    m.busyMs += performance.now() - t;
    if (sink.metrics) m.extra = { ...sink.metrics() };
  }

  /** Source vertices that feed `vertex`, in plan order (whose markers a sink receives). */
  private upstreamSources(vertex: string): string[] {
    const found = new Set<string>();
    const visit = (id: string) => {
      for (const e of this.plan.physical.edges) if (e.to === id && !found.has(e.from)) found.add(e.from), visit(e.from);
    };
    visit(vertex);
    return this.plan.physical.vertices.filter((x) => x.type === 'source' && found.has(x.id)).map((x) => x.id);
  }

  private async runDeadLetters(v: Extract<Vertex, { type: 'dead_letters' }>): Promise<void> {
    const m = this.metrics.get('dead_letters')!;
    let out: WriteStream | null = null;
    await this.merge(v.id, async (el) => {
      if (el.t !== 'batch') return;
      if (!out) {
        mkdirSync(dirname(v.path), { recursive: true });
        out = createWriteStream(v.path, { flags: this.resumeFrom === null ? 'w' : 'a' });
      }
      let text = '';
      for (let i = 0; i < el.batch.numRows; i++) text += JSON.stringify(rowObject(el.batch, i)) + '\n';
      m.rowsIn += el.batch.numRows;
      if (!out.write(text)) await new Promise<void>((r) => out!.once('drain', () => r()));
    }, async (id) => this.coordinator?.ack(v.id, id));
    const stream = out as WriteStream | null;
    if (stream) await new Promise<void>((resolve, reject) => stream.end((e?: Error | null) => (e ? reject(e) : resolve())));
  }
}

export async function runJob(plan: CompiledPlan, opts: RunOptions): Promise<JobResult> {
  return new Job(plan, opts).run();
}
