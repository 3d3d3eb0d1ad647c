/**
 * @module operator
 * The plugin contracts: operators, sources and sinks. Built-in components use exactly these interfaces, through
 * `defineOperator` / `defineSource` / `defineSink` in engine/api.ts, so custom components are first-class.
 *
 * Lifecycle of an operator: `outputSchemas(config, inputs)` runs when the plan compiles (it type-checks expressions
 * and reports errors with config-relative paths); `create(config, ctx)` runs once per worker that executes it;
 * `processBatch` is called for every batch, in order per input. Operators never see channels, threads or metrics: the
 * runtime counts rows, times calls and attaches the node id to errors around every call.
 */
import type { Clock } from './time/clock.js';
import type { RecordBatch, Schema } from 'apache-arrow';
import type { z } from 'zod';
import type { Resource } from './policy.js';

/** Where operator output goes. `rows[i]` is the input row that output row i came from (lineage), which the runtime
 * uses to keep source positions for dead letters; omit it when output rows are the input rows, in order. */
export interface Collector {
  emit(batch: RecordBatch, port?: string, rows?: Int32Array): void;
  /** Sends input rows to the operator's `dead_letter` output with a reason each; `raw` overrides the row's text. */
  deadLetter(rows: ArrayLike<number>, reasons: readonly string[], raw?: readonly string[]): void;
  /** For watermark generators (`generatesWatermarks`): a watermark candidate after this batch. The runtime keeps
   * the running maximum, in input order, and forwards it after the batch's rows. */
  emitWatermark(ms: number): void;
}

export interface OperatorContext {
  readonly nodeId: string;
  readonly inputs: readonly Schema[];
  readonly outputs: Readonly<Record<string, Schema>>;
  /** Processing time (read it here, never from `Date.now()`: tests drive it). */
  readonly clock: Clock;
}

export interface Operator {
  processBatch(batch: RecordBatch, out: Collector, input: number): void | Promise<void>;
  /** Event time advanced to `watermarkMs` (the minimum over the operator's non-idle inputs): emit what is due. The
   * runtime forwards the watermark after everything emitted here. Keyed and single operators only. */
  onWatermark?(watermarkMs: number, out: Collector): void | Promise<void>;
  /** Processing-time tick (wall clock, ms), for processing-time windows; see `OperatorSpec.processingTime`. */
  onTick?(nowMs: number, out: Collector): void | Promise<void>;
  /** Called once after the last input (after the final watermark), with a collector for any final output. */
  close?(out: Collector): void | Promise<void>;
  /** Operator-specific counters (requests, cache hits, tokens, cost …), read by the runtime after each batch and
   * reported beside the row counts. `single` operators. */
  metrics?(): Readonly<Record<string, number>>;
  /** Keyed operators: the partition's state for a checkpoint, per key (so it can be re-split by key group when the
   * job restores at another parallelism). Must be structured-clone data (v8 serialization). */
  snapshot?(): KeyedState;
  /** Restores the entries of this partition's key groups (gathered from every old partition) before any input. */
  restore?(state: KeyedState): void;
}

export interface KeyedState {
  readonly entries: readonly (readonly [key: string, value: unknown])[];
  /** Partition-wide values (e.g. the current watermark); on restore, the first old partition's. */
  readonly shared?: unknown;
}

/** How the engine may run an operator. `parallel`: stateless per batch, fused into chains and run data-parallel in
 * the worker pool. `single`: one instance on the coordinating thread (cheap multi-input operators such as union).
 * `keyed`: one instance per partition, each on its own worker thread owning a fixed set of key groups; input rows
 * are hash-partitioned by `keyBy`, so every key's state lives in exactly one place. */
export type Execution = 'parallel' | 'single' | 'keyed';

export interface Example {
  readonly title: string;
  readonly yaml: string;
}

interface SpecBase<C> {
  readonly kind: string;
  readonly summary: string;
  readonly description?: string;
  /** zod schema of `config`; strict objects, so unknown fields are errors with a closest-field hint. */
  readonly config: z.ZodType<C>;
  readonly examples: readonly Example[];
  /** Short key/value facts shown by `abflow explain`. */
  display?(config: C): Record<string, string>;
  /** The files the config makes it read or write and the commands it makes it run (policy.ts): plans submitted
   * to the service are checked against what its operator allowed. Components touching neither leave it out. */
  resources?(config: C): readonly Resource[];
}

export interface OperatorSpec<C = unknown> extends SpecBase<C> {
  readonly role: 'operator';
  readonly inputs?: { readonly min: number; readonly max: number };
  readonly execution: Execution;
  /** Output port names (default `['out']`), not counting `dead_letter`. */
  ports?(config: C): readonly string[];
  /** Whether the operator has a `dead_letter` output. */
  readonly deadLetters?: boolean;
  /** Keyed operators: the key columns of input `input` that rows are partitioned by (empty: one partition holds
   * everything). Inputs of a multi-input operator use columns whose values match (e.g. person.id, auction.seller). */
  keyBy?(config: C, input: number): readonly string[];
  /** Watermark generators replace upstream watermarks with their own (`Collector.emitWatermark`); the final
   * end-of-input watermark still passes. `idleTimeoutMs` marks the stream idle after that long without rows. */
  readonly generatesWatermarks?: boolean;
  idleTimeoutMs?(config: C): number | undefined;
  /** Whether the operator needs processing-time ticks (`onTick`). */
  processingTime?(config: C): boolean;
  /** Parallel operators that only pick, rename or reorder columns (no work per row): a chain made of such operators
   * alone runs on the thread that already holds the batch, since a trip to a worker would cost two Arrow IPC
   * encodings and a thread handoff for work that takes microseconds. */
  readonly columnsOnly?: boolean;
  outputSchemas(config: C, inputs: readonly Schema[]): Record<string, Schema>;
  create(config: C, ctx: OperatorContext): Operator;
}

/** What a source yields: a batch for one of its ports, with optional source positions (line numbers, offsets). */
export interface SourceOutput {
  readonly batch: RecordBatch;
  readonly port?: string;
  readonly positions?: Float64Array;
  /** Where to resume to continue right after this output (a file offset, a sequence number, connector state):
   * recorded with checkpoints and handed back to `read(from)` on restore. Plain data. Checkpoint barriers are only
   * placed right after an output that carries it, so a source whose positions are not all resumable (an Airbyte
   * connector resumes only from a STATE) leaves it out between its resumable points. */
  readonly resumeAfter?: unknown;
  /** Take a checkpoint right after this output (which must carry `resumeAfter`): the source's own commit points,
   * such as Airbyte STATE messages. Applies when the source spec sets `drivesCheckpoints`. */
  readonly checkpoint?: boolean;
  /** Messages that must reach the sinks after everything before them is durable (Airbyte STATE and stream status
   * messages): they travel with the next checkpoint and are handed to `Sink.commit` once it is complete. */
  readonly markers?: readonly unknown[];
  /** Sources that track event time themselves (Kafka's per-partition watermarks): the watermark after this output.
   * The runtime forwards it when it advances. */
  readonly watermark?: number;
}

export interface SourceContext {
  readonly nodeId: string;
  /** The plan's name: how a running job is addressed (e.g. by `abflow serve`'s ingest). */
  readonly job: string;
  readonly batchSize: number;
  /** Longest a source should hold a partial batch before yielding it. */
  readonly lingerMs: number;
  readonly outputs: Readonly<Record<string, Schema>>;
  /** The job takes checkpoints: `committed` will be called for outputs carrying `resumeAfter`. */
  readonly checkpointing: boolean;
  /** Processing time (read it here, never from `Date.now()`: tests drive it). */
  readonly clock: Clock;
  /** Tells the operator of something the source rode out (a consumer reconnected): the CLI prints it as a warning. */
  warn(message: string): void;
}

export interface Source {
  /** Pulled by the runtime: the next batch is requested only once downstream has room (backpressure). Returning
   * ends the input; the runtime stops pulling early on shutdown and calls the iterator's `return()`. `from` is the
   * `resumeAfter` of an output of an earlier run: the read continues right after it (checkpoint restore). */
  read(from?: unknown): AsyncIterable<SourceOutput>;
  /** Human-readable description of a position, e.g. `data.jsonl:17`. */
  describePosition?(position: number): string;
  /** The checkpoint taken right after the output carrying `resumeAfter` is durable and every sink committed it:
   * acknowledge upstream (echo an Airbyte STATE, ack queue messages, confirm a replication position). Called in
   * checkpoint order (Flink's notifyCheckpointComplete). */
  committed?(resumeAfter: unknown): void | Promise<void>;
  /** The run is over: the last checkpoint's `committed` was called (or the job failed or had no checkpoints). Releases
   * what `read` kept open for acknowledging after the input ended (a consumer group's connection). */
  close?(): Promise<void>;
  /** Lines of this source its decoder rejected (dead letters: input positions and reasons), reported on the
   * coordinating thread before the checkpoint that covers them completes: a source that answers its upstream per
   * commit (an Airbyte destination's STATE stats, TRACE errors) tells it what was received but not accepted. */
  rejected?(positions: readonly number[], reasons: readonly string[], raw: readonly string[]): void;
}

/** A stage the compiler puts right after a source and fuses into the downstream chain, so that decoding (JSON
 * parsing, Arrow building) runs in the worker pool instead of on the coordinating thread. */
export interface Decoder {
  readonly kind: string;
  readonly config: unknown;
  /** Schema of the raw batches the source emits (the decoder's input). */
  readonly input: Schema;
}

export interface SourceSpec<C = unknown> extends SpecBase<C> {
  readonly role: 'source';
  ports?(config: C): readonly string[];
  /** Schemas of the source's ports as seen by the plan (after its decoder, if any). */
  outputSchemas(config: C): Record<string, Schema> | Promise<Record<string, Schema>>;
  /** The decoder to insert after this source, given the plan-visible schemas `outputSchemas` returned.
   * `keepSourceText`: a sink downstream rebuilds messages from their original text (SinkSpec.readsSourceText). */
  decoder?(config: C, outputs: Record<string, Schema>, opts: { readonly keepSourceText: boolean }): Decoder | undefined;
  /** The source decides where checkpoints happen (`SourceOutput.checkpoint`), e.g. at every Airbyte STATE. The job
   * then runs checkpoints even without `engine.checkpoint`: sinks commit at those points, and only persisting the
   * state for recovery needs the setting. */
  readonly drivesCheckpoints?: boolean;
  /** What the source's position belongs to beyond one run: an Airbyte connection (its streams), a replication slot.
   * A source that has one keeps its position when a run finishes, and the next run continues after it, as an
   * incremental sync does; the position survives config changes that keep this identity (a connector image
   * upgrade, a new `until`). Plans with such a source keep a checkpoint store even without `engine.checkpoint`
   * (commit points only); `--from-scratch` resets it. */
  connection?(config: C): unknown;
  create(config: C, ctx: SourceContext): Source;
}

export interface SinkContext {
  readonly nodeId: string;
  /** The plan's name. */
  readonly job: string;
  readonly inputs: readonly Schema[];
  /** Processing time (read it here, never from `Date.now()`: tests drive it). */
  readonly clock: Clock;
  /** Set when the job takes checkpoints: the sink must then write exactly once with two-phase commit. */
  readonly checkpointing?: {
    /** The newest complete checkpoint the job resumes from (null: a fresh start). */
    readonly resumeFrom: number | null;
    /** The newest complete checkpoint (null: none, or `--from-scratch`). On open, the sink commits what it staged up to
     * it — a crash may have cut its commit short — and discards what it staged after it. It is `resumeFrom` when the
     * run resumes; after a finished run the job starts afresh (`resumeFrom` null) but that run's final checkpoint may
     * still await its commit. A sink whose fresh start replaces all its output may skip that commit. */
    readonly lastComplete: number | null;
    /** The id of this run's first checkpoint: what is written before it belongs to it. Usually `resumeFrom + 1`, but
     * higher when newer checkpoints than the one resumed from were left unusable (a crash while one was written). */
    readonly firstId: number;
    /** Whether checkpoints are persisted and a restart resumes from them (`engine.checkpoint`). When false they
     * are commit points only (Airbyte STATEs): a crash restarts the input from its last commit, so staged data need
     * not survive one. */
    readonly durable: boolean;
  };
}

export interface Sink {
  open?(): Promise<void>;
  /** `positions`: each row's position in its source's input (a line number), where the operators kept it. */
  write(batch: RecordBatch, input: number, positions?: Float64Array): void | Promise<void>;
  /** Called after the last batch; must make everything written durable. */
  close(): Promise<void>;
  /** Called instead of `close` when the job fails: release resources without committing pending output. */
  abort?(): Promise<void>;
  /** Checkpoint barrier `epoch` reached the sink: make everything written since the previous barrier durable as
   * staged (not yet visible) data of this epoch. */
  preCommit?(epoch: number): Promise<void>;
  /** Checkpoint `epoch` is complete: make its staged data (and any older) visible, idempotently. `markers` are the
   * upstream sources' messages that travelled with this checkpoint (`SourceOutput.markers`), in source order. */
  commit?(epoch: number, markers: readonly unknown[]): Promise<void>;
  /** Whether `commit` may run while later batches are written and staged (`write`, `preCommit` of later epochs), as
   * when the sink commits on a connection of its own. Otherwise commits take turns with writes. */
  readonly concurrentCommits?: boolean;
  /** Sink-specific counters (latency percentiles, requests …), reported beside the row counts like
   * `Operator.metrics`; read at most every metrics tick while writing, and once after `close`. */
  metrics?(): Readonly<Record<string, number>>;
}

export interface SinkSpec<C = unknown> extends SpecBase<C> {
  readonly role: 'sink';
  /** The sink rebuilds the messages its rows came from out of their original text where the plan changed nothing
   * (an Airbyte pass-through): the decoders of the sources upstream keep that text in their rows. */
  readonly readsSourceText?: boolean;
  readonly inputs?: { readonly min: number; readonly max: number };
  /** Compile-time check of the input schemas (throw an AbflowError with a config-relative path). */
  check?(config: C, inputs: readonly Schema[]): void;
  create(config: C, ctx: SinkContext): Sink;
}

export type AnySpec = OperatorSpec<any> | SourceSpec<any> | SinkSpec<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
export type Role = AnySpec['role'];
