/**
 * @module runtime/job
 * Runs a compiled plan: wires its vertices with bounded channels (wiring.ts), starts one driver per vertex
 * (vertices/), and owns the run's lifecycle — start from the latest checkpoint (recovery.ts), graceful stop,
 * termination after a grace period, and failure (the first error fails the job and closes every channel).
 * Every driver is an async loop on this thread:
 * - sources are pulled only when downstream has room;
 * - chains ship batches to the worker pool and emit results in input order;
 * - keyed vertices run their partitions on keyed threads (keyed-pool.ts);
 * - sinks and `single` operators run here.
 * With `engine.inline` the pool and the keyed threads are replaced by their hosts on this thread (inline.ts).
 * Watermarks, barriers and end-of-input travel in the same ordered streams as batches.
 */
import type { CompiledPlan, Vertex } from '../compile/compile.js';
import { AbflowError, isAbflowError } from '../errors.js';
import { type Clock, systemClock } from '../time/clock.js';
import { ChannelClosed } from './channel.js';
import { InlinePool } from './inline.js';
import { KeyedPool } from './keyed-pool.js';
import { Latch } from './latch.js';
import { JobMetrics, type NodeMetrics } from './metrics.js';
import { operatorFailure } from './observed.js';
import { type ChainPool, WorkerPool } from './pool.js';
import type { NodeCounters } from './protocol.js';
import { Recovery } from './recovery.js';
import { runChain } from './vertices/chain.js';
import { runKeyed } from './vertices/keyed.js';
import type { VertexRuntime } from './vertices/runtime.js';
import { runSingle } from './vertices/single.js';
import { runSink } from './vertices/sink.js';
import { runSource } from './vertices/source.js';
import { Wiring } from './wiring.js';

export { BATCH_MS_BUCKETS, type NodeMetrics } from './metrics.js';

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

export type JobStatus = Omit<JobResult, 'durationMs'> & {
  readonly queues: readonly { readonly name: string; readonly depth: number; readonly capacity: number }[];
};

export interface RunOptions {
  /** Module URLs exporting `abflowComponents`, loaded by the worker threads. */
  readonly modules: readonly string[];
  readonly onProgress?: (p: Progress) => void;
  readonly progressIntervalMs?: number;
  /** Processing time (default: the system's); see VertexRuntime.clock. */
  readonly clock?: Clock;
  /** Ignore saved checkpoints and start the job afresh. */
  readonly fromScratch?: boolean;
  /** Messages a user should see (a damaged checkpoint skipped, a finished run restarted). */
  readonly onWarning?: (message: string) => void;
  /** Called once the pool workers have loaded the components and created their operators (the sources start reading
   * at once; chains send their first batch after this), with the checkpoint the run resumed from (null: a fresh start). */
  readonly onStarted?: (run: { readonly resumedFrom: number | null }) => void;
  /** Called as each checkpoint becomes durable, before the sinks commit it. */
  readonly onCheckpoint?: (c: { id: number; ms: number; bytes: number; finished: boolean }) => void;
}

const DRIVERS: { [T in Vertex['type']]: (v: Extract<Vertex, { type: T }>, rt: VertexRuntime) => Promise<void> } = {
  source: runSource,
  chain: runChain,
  keyed: runKeyed,
  single: runSingle,
  sink: runSink,
};

/** Named first when a job is terminated: an operator still running (what does work), else a sink, else a source. */
const STUCK_RANK = { chain: 0, keyed: 0, single: 0, sink: 1, source: 2 } as const;

export class Job implements VertexRuntime {
  readonly wiring: Wiring;
  readonly metrics: JobMetrics;
  readonly clock: Clock;
  readonly keyed: KeyedPool;
  readonly stopped = new Latch<'stop'>();
  readonly failed = new Latch<null>();
  pool: ChainPool | null = null;
  warmed: Promise<void> = Promise.resolve();
  failure: Error | null = null;
  stopping = false;
  private readonly recovery: Recovery;
  /** Vertices whose driver has not ended yet (named by terminate). */
  private readonly running = new Set<string>();
  private grace: NodeJS.Timeout | undefined;
  private readonly terminated = new Latch<undefined>();
  private killed = false;
  private ended = false;

  constructor(
    readonly plan: CompiledPlan,
    private readonly opts: RunOptions,
  ) {
    this.clock = opts.clock ?? systemClock;
    this.metrics = new JobMetrics(plan);
    this.wiring = new Wiring(plan, (vertex, ms) => this.metrics.watermark(vertex, ms));
    this.keyed = new KeyedPool(opts.modules, plan.engine.inline, (e, starter) => this.fail(e, this.vertex(starter)));
    this.recovery = new Recovery(plan, { ...opts, clock: this.clock }, (e) => this.fail(e, plan.physical.vertices[0]!));
  }

  get coordinator() {
    return this.recovery.coordinator;
  }

  get resumeFrom(): number | null {
    return this.recovery.resumeFrom;
  }

  get lastComplete(): number | null {
    return this.recovery.lastComplete;
  }

  stateOf(vertex: string) {
    return this.recovery.stateOf(vertex);
  }

  private vertex(id: string): Vertex {
    return this.plan.physical.vertices.find((v) => v.id === id)!;
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
    const running = [...this.running].sort((a, b) => STUCK_RANK[this.vertex(a).type] - STUCK_RANK[this.vertex(b).type]);
    const busy = [...this.running].map((id) =>
      this.vertex(id).type === 'chain' ? `chain ${this.metrics.nodesOf(id).join(' → ')}` : (this.metrics.nodesOf(id)[0] ?? id),
    );
    const stuck = running.flatMap((id) => this.metrics.nodesOf(id))[0];
    this.fail(
      new AbflowError('operator_failed', `job ${this.plan.name} was terminated: ${why}; still running: ${busy.join(', ') || 'nothing'}`, {
        domain: 'internal',
        ...(stuck ? { nodeId: stuck } : {}),
      }),
      this.plan.physical.vertices[0]!,
    );
    this.killed = true;
    this.terminated.fire(undefined);
    await Promise.all([this.pool?.destroy(), this.keyed.terminate()]);
  }

  async run(): Promise<JobResult> {
    const t0 = this.clock.monotonic();
    const store = await this.recovery.open();
    this.pool = this.startPool();
    const timer = this.opts.onProgress
      ? setInterval(() => this.opts.onProgress!({ elapsedMs: this.clock.monotonic() - t0, ...this.metrics.totals() }), this.opts.progressIntervalMs ?? 250)
      : null;
    try {
      // Workers load the component modules and create their operators while the sources start; chains send their
      // first batch once that is done, so no batch waits behind module loading inside a worker.
      this.warmed = this.pool ? this.pool.warm(this.plan.engine.parallelism) : Promise.resolve();
      this.warmed.then(
        () => this.opts.onStarted?.({ resumedFrom: this.resumeFrom }),
        () => undefined,
      );
      // A terminated job ends here even if one of its parts never returns (a sink stuck on a dead server).
      await this.terminated.race(Promise.all(this.plan.physical.vertices.map((v) => this.drive(v))));
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
      await this.keyed.terminate();
      store?.close();
    }
    if (this.failure) throw this.failure;
    const result = { ...this.status(), durationMs: this.clock.monotonic() - t0 };
    const tooMany = this.deadLetterExcess(result.rowsIn, result.deadLetters, 1);
    if (tooMany) throw new AbflowError('dead_letters', `${tooMany} (checked at the end of the run: its output was committed)`, { domain: 'user' });
    return result;
  }

  /** The pool for the chains that run in workers (none: no pool). */
  private startPool(): ChainPool | null {
    const chains = this.plan.physical.vertices.filter((v): v is Extract<Vertex, { type: 'chain' }> => v.type === 'chain' && !v.inline);
    if (!chains.length) return null;
    const data = {
      modules: this.opts.modules,
      chains: Object.fromEntries(chains.map((c) => [c.id, { members: c.members, exits: this.wiring.exitsOf(c.id) }])),
    };
    return this.plan.engine.inline ? new InlinePool(data) : new WorkerPool({ threads: this.plan.engine.parallelism, data });
  }

  private async drive(v: Vertex): Promise<void> {
    this.running.add(v.id);
    try {
      await (DRIVERS[v.type] as (v: Vertex, rt: VertexRuntime) => Promise<void>)(v, this);
    } catch (e) {
      this.fail(e, v);
    } finally {
      this.running.delete(v.id);
    }
  }

  /** Why the dead letters exceed `engine.maxDeadLetterRatio` once `minRows` rows were read, or null. */
  private deadLetterExcess(rowsIn: number, dead: number, minRows: number): string | null {
    const limit = this.plan.engine.maxDeadLetterRatio;
    if (limit === undefined || rowsIn < minRows || dead <= limit * rowsIn) return null;
    return `${dead} of ${rowsIn} rows read became dead letters (${((100 * dead) / rowsIn).toFixed(1)} %), more than engine.maxDeadLetterRatio ${limit}; see ${this.plan.engine.deadLetters} or the plan's dead-letter sinks`;
  }

  warn(message: string): void {
    this.opts.onWarning?.(message);
  }

  count(counters: readonly NodeCounters[]): void {
    if (!this.metrics.count(counters) || this.plan.engine.maxDeadLetterRatio === undefined) return;
    // While the run goes: from 1 000 rows on, so the first few rows of a run do not decide it.
    const { rowsIn, deadLetters } = this.metrics.totals();
    const tooMany = this.deadLetterExcess(rowsIn, deadLetters, 1000);
    if (tooMany) this.fail(new AbflowError('dead_letters', tooMany, { domain: 'user', nodeId: 'dead_letters' }), this.plan.physical.vertices[0]!);
  }

  /** The job's counters now (a copy): for services and dashboards while it runs, and the final result. */
  status(): JobStatus {
    const queues = this.wiring.queues();
    const { rowsIn, rowsOut, deadLetters } = this.metrics.totals();
    return {
      resumedFrom: this.resumeFrom,
      checkpoints: [...(this.coordinator?.completed ?? [])],
      nodes: this.metrics.snapshot(),
      channels: queues.map((c) => ({ name: c.name, capacity: c.capacity, maxDepth: c.maxDepth })),
      queues: queues.map((c) => ({ name: c.name, depth: c.depth, capacity: c.capacity })),
      rowsIn,
      rowsOut,
      deadLetters,
      stopped: this.stopping,
    };
  }

  fail(e: unknown, v: Vertex): void {
    if (e instanceof ChannelClosed || (this.failure && e === this.failure)) return;
    if (!this.failure) {
      const nodeId = v.type === 'chain' ? undefined : (v.node.decodedBy ?? v.node.id);
      this.failure = isAbflowError(e) ? e : operatorFailure(nodeId ?? v.id, v.type, e);
      if (isAbflowError(this.failure) && !this.failure.nodeId && nodeId) this.failure.nodeId = nodeId;
      this.failed.fire(null);
    }
    this.stop();
    this.wiring.closeAll(this.failure);
  }
}

export async function runJob(plan: CompiledPlan, opts: RunOptions): Promise<JobResult> {
  return new Job(plan, opts).run();
}
