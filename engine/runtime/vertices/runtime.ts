/**
 * @module runtime/vertices/runtime
 * What a vertex driver may use of its job: the channels (`wiring`), the counters, checkpoints and restored state,
 * the pools, and the job's stop and failure. Job implements it; drivers know nothing else of the job.
 */
import type { CompiledPlan, Vertex } from '../../compile/compile.js';
import type { Coordinator } from '../../state/coordinator.js';
import type { StateBlob } from '../../state/store.js';
import type { Clock } from '../../time/clock.js';
import type { KeyedPool } from '../keyed-pool.js';
import type { Latch } from '../latch.js';
import type { JobMetrics } from '../metrics.js';
import type { ChainPool } from '../pool.js';
import type { NodeCounters } from '../protocol.js';
import type { Wiring } from '../wiring.js';

/** How often idleness and processing-time ticks are checked (Flink's auto-watermark interval). */
export const TICK_MS = 200;

export interface VertexRuntime {
  readonly plan: CompiledPlan;
  /** Processing time of the drivers and of what runs on this thread (sources, sinks, single operators). Pool
   * workers and keyed threads read the system clock: a clock object cannot cross threads. */
  readonly clock: Clock;
  readonly wiring: Wiring;
  readonly metrics: JobMetrics;
  readonly coordinator: Coordinator | null;
  /** The checkpoint this run resumes from (null: a fresh start). */
  readonly resumeFrom: number | null;
  /** The newest complete checkpoint, finished or not (null: none, or a start from scratch): see SinkContext. */
  readonly lastComplete: number | null;
  stateOf(vertex: string): StateBlob[];
  readonly pool: ChainPool | null;
  /** Resolves when the pool workers have loaded their operators. */
  readonly warmed: Promise<void>;
  readonly keyed: KeyedPool;
  /** Fires on stop (a source waiting for its next batch gives up). */
  readonly stopped: Latch<'stop'>;
  /** Fires when the job fails (anything waiting on progress can give up). */
  readonly failed: Latch<null>;
  readonly stopping: boolean;
  readonly failure: Error | null;
  fail(e: unknown, v: Vertex): void;
  /** A message for the operator (the CLI prints it as a warning). */
  warn(message: string): void;
  /** Adds counters to the job's metrics (and checks the dead-letter ratio). */
  count(counters: readonly NodeCounters[]): void;
}
