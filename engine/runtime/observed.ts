/**
 * @module runtime/observed
 * The one wrapper every operator and sink runs inside, wherever it runs (pool workers, keyed threads, the
 * coordinating thread): it counts rows in (and, through the collector, out and dead), times each call, and names the
 * node in any error it throws. Drivers never count, time or wrap errors themselves.
 */
import type { RecordBatch, Schema } from 'apache-arrow';
import { AbflowError, isAbflowError } from '../errors.js';
import { type Clock, systemClock } from '../time/clock.js';
import type { KeyedState, Operator, OperatorSpec, Sink } from '../operator.js';
import { BatchCollector } from './collector.js';
import { type NodeCounters, zeroCounters } from './protocol.js';

export function operatorFailure(nodeId: string, kind: string, e: unknown): AbflowError {
  if (isAbflowError(e) && e.nodeId) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new AbflowError('operator_failed', `operator '${nodeId}' (${kind}) failed: ${msg}`, {
    nodeId,
    cause: e,
    domain: isAbflowError(e) ? e.domain : 'internal',
  });
}

const NO_ROWS = { numRows: 0 } as RecordBatch;

/** What both wrappers share: the node's counters since the last `take`, and timed calls that name the node in errors. */
abstract class Observed {
  protected counters: NodeCounters;

  constructor(
    readonly nodeId: string,
    readonly kind: string,
  ) {
    this.counters = zeroCounters(nodeId);
  }

  /** An error of the component as the job reports it: with the node. */
  abstract named(e: unknown): AbflowError;

  /** The counters since the last call. */
  take(): NodeCounters {
    const c = this.counters;
    this.counters = zeroCounters(this.nodeId);
    return c;
  }

  protected async timed(f: () => unknown): Promise<void> {
    const t0 = systemClock.monotonic();
    try {
      await f();
    } catch (e) {
      throw this.named(e);
    }
    this.counters.busyMs += systemClock.monotonic() - t0;
  }
}

export class ObservedOperator extends Observed {
  private constructor(
    nodeId: string,
    kind: string,
    private readonly op: Operator,
  ) {
    super(nodeId, kind);
  }

  named(e: unknown): AbflowError {
    return operatorFailure(this.nodeId, this.kind, e);
  }

  /** Creates the operator from its spec and raw config (parsed again here, so every thread applies the same defaults). */
  static create(
    spec: OperatorSpec,
    nodeId: string,
    rawConfig: unknown,
    inputs: Schema[],
    outputs: Record<string, Schema>,
    clock: Clock = systemClock,
  ): ObservedOperator {
    try {
      return new ObservedOperator(nodeId, spec.kind, spec.create(spec.config.parse(rawConfig), { nodeId, inputs, outputs, clock }));
    } catch (e) {
      throw operatorFailure(nodeId, spec.kind, e);
    }
  }

  batch(batch: RecordBatch, positions: Float64Array | undefined, origin: string | undefined, input: number): Promise<BatchCollector> {
    this.counters.rowsIn += batch.numRows;
    return this.call(batch, positions, origin, (col) => this.op.processBatch(batch, col, input));
  }

  watermark(ms: number): Promise<BatchCollector> {
    return this.call(NO_ROWS, undefined, undefined, (col) => this.op.onWatermark?.(ms, col));
  }

  tick(nowMs: number): Promise<BatchCollector> {
    return this.call(NO_ROWS, undefined, undefined, (col) => this.op.onTick?.(nowMs, col));
  }

  close(): Promise<BatchCollector> {
    return this.call(NO_ROWS, undefined, undefined, (col) => this.op.close?.(col));
  }

  get processesTime(): boolean {
    return this.op.onTick !== undefined;
  }

  snapshot(): KeyedState {
    try {
      return this.op.snapshot?.() ?? { entries: [] };
    } catch (e) {
      throw operatorFailure(this.nodeId, this.kind, e);
    }
  }

  restore(state: KeyedState): void {
    try {
      this.op.restore?.(state);
    } catch (e) {
      throw operatorFailure(this.nodeId, this.kind, e);
    }
  }

  metrics(): Record<string, number> | undefined {
    return this.op.metrics ? { ...this.op.metrics() } : undefined;
  }

  private async call(
    batch: RecordBatch,
    positions: Float64Array | undefined,
    origin: string | undefined,
    f: (col: BatchCollector) => unknown,
  ): Promise<BatchCollector> {
    const col = new BatchCollector(this.nodeId, batch, positions, origin, this.counters);
    await this.timed(() => f(col));
    return col;
  }
}

/** A sink inside the same wrapper: writes counted and timed, failures named `sink_io` with the node. */
export class ObservedSink extends Observed {
  constructor(
    nodeId: string,
    kind: string,
    readonly sink: Sink,
  ) {
    super(nodeId, kind);
  }

  named(e: unknown): AbflowError {
    return isAbflowError(e)
      ? e
      : new AbflowError('sink_io', `sink '${this.nodeId}' (${this.kind}) failed: ${(e as Error).message}`, {
          nodeId: this.nodeId,
          cause: e,
          domain: 'external',
        });
  }

  write(batch: RecordBatch, input: number, positions: Float64Array | undefined): Promise<void> {
    this.counters.rowsIn += batch.numRows;
    return this.timed(() => this.sink.write(batch, input, positions));
  }

  close(): Promise<void> {
    return this.timed(() => this.sink.close());
  }

  metrics(): Record<string, number> | undefined {
    return this.sink.metrics ? { ...this.sink.metrics() } : undefined;
  }
}
