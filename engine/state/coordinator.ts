/**
 * @module state/coordinator
 * Checkpoint coordination (Flink's asynchronous barrier snapshots). Every interval the coordinator requests
 * checkpoint N; each source injects barrier N into its streams at its next batch boundary together with its position;
 * every other vertex acknowledges N once the barrier reached it from all inputs (keyed operators with their state,
 * sinks after staging their output). When all vertices acknowledged, the checkpoint is written in one transaction
 * and the sinks commit: output becomes visible exactly when the state that produced it is durable.
 * When every source is done (exhausted, or stopped gracefully) a last checkpoint is taken; it is marked finished
 * when all sources were exhausted, so the next run starts afresh instead of resuming.
 * Without a store (a plan without `engine.checkpoint` whose sources drive checkpoints, such as Airbyte STATEs) the
 * same protocol runs for its commit points only: sinks commit at each checkpoint, and nothing is persisted.
 */
import type { StateBlob } from './store.js';
import type { CheckpointStore } from './store.js';
import { type Clock, systemClock } from '../time/clock.js';

interface InFlight {
  readonly id: number;
  readonly started: number;
  readonly final: boolean;
  readonly finished: boolean;
  readonly acks: Map<string, StateBlob[]>;
}

export interface CoordinatorOptions {
  /** Where checkpoints are written; null: commit points only, nothing persisted. */
  readonly store: CheckpointStore | null;
  /** Every vertex that acknowledges a checkpoint. */
  readonly participants: readonly string[];
  /** The source vertices (they inject barriers). */
  readonly sources: readonly string[];
  readonly parallelism: number;
  /** Completed checkpoints kept in the store. */
  readonly keep: number;
  /** This run's first checkpoint id (after the store's latest). */
  readonly firstId: number;
  /** Fails the job (a checkpoint or a commit failed). */
  readonly fail: (e: unknown) => void;
  readonly onCheckpoint?: ((c: { id: number; ms: number; bytes: number; finished: boolean }) => void) | undefined;
  /** Times checkpoints (default: the system clock). */
  readonly clock?: Clock;
}

/** Checkpoints a source may have in flight at once at its own commit points (Airbyte STATEs). */
const MAX_CONCURRENT = 16;

export class Coordinator {
  private next: number;
  /** Checkpoints whose barriers are travelling, oldest first; they complete in order. */
  private readonly inFlight: InFlight[] = [];
  private completing = Promise.resolve();
  private halted = false;
  private requested = 0;
  private readonly requestWaiters: (() => void)[] = [];
  private readonly done = new Map<string, boolean>();
  private finalId: Promise<number> | null = null;
  private resolveFinal: ((id: number) => void) | null = null;
  private timer: NodeJS.Timeout | undefined;
  /** The id before this run's first checkpoint: every source injects every barrier after it, even one requested
   * before the source started (sinks may take a while to open). */
  readonly beforeFirst: number;
  /** Called after each checkpoint is durable (sinks commit here), in order; then the `afterCommit` callbacks. */
  private readonly onComplete: ((id: number) => Promise<void>)[] = [];
  private readonly afterCommit: ((id: number) => Promise<void>)[] = [];
  private readonly idleWaiters: (() => void)[] = [];
  /** Source markers travelling with each checkpoint: id → source vertex → markers. */
  private readonly markers = new Map<number, Map<string, readonly unknown[]>>();
  readonly completed: { id: number; ms: number; bytes: number }[] = [];
  private finalCommitted!: () => void;
  /** Resolves once the last checkpoint is durable and every sink committed it. */
  readonly finalDone = new Promise<void>((resolve) => (this.finalCommitted = resolve));

  private readonly store: CheckpointStore | null;
  private readonly participants: readonly string[];
  private readonly sources: readonly string[];
  private readonly parallelism: number;
  private readonly keep: number;
  private readonly fail: (e: unknown) => void;
  private readonly onCheckpoint: ((c: { id: number; ms: number; bytes: number; finished: boolean }) => void) | undefined;
  private readonly clock: Clock;

  constructor(o: CoordinatorOptions) {
    ({
      store: this.store,
      participants: this.participants,
      sources: this.sources,
      parallelism: this.parallelism,
      keep: this.keep,
      fail: this.fail,
      onCheckpoint: this.onCheckpoint,
    } = o);
    this.clock = o.clock ?? systemClock;
    const firstId = o.firstId;
    this.next = firstId;
    this.requested = firstId - 1;
    this.beforeFirst = firstId - 1;
  }

  /** Whether checkpoints are persisted (a restart resumes from them) or only commit points. */
  get durable(): boolean {
    return this.store !== null;
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => this.trigger(false, false), intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The job failed or ended: no further checkpoint completes. Resolves once a completion under way is done, so
   * the store and the sinks can be closed safely. */
  halt(): Promise<void> {
    this.halted = true;
    this.stop();
    return this.completing;
  }

  whenComplete(f: (id: number) => Promise<void>): void {
    this.onComplete.push(f);
  }

  /** Runs after every sink committed checkpoint `id` (sources acknowledge upstream here). */
  whenCommitted(f: (id: number) => Promise<void>): void {
    this.afterCommit.push(f);
  }

  /** Requests a checkpoint now — a source's own commit point — without waiting for those in flight (up to
   * MAX_CONCURRENT, so a source cannot run far ahead of its commits); resolves with its id. */
  async requestNow(): Promise<number> {
    for (;;) {
      const id = this.trigger(false, false, MAX_CONCURRENT);
      if (id !== null) return id;
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    }
  }

  addMarkers(id: number, source: string, markers: readonly unknown[]): void {
    if (!markers.length) return;
    const bySource = this.markers.get(id) ?? this.markers.set(id, new Map()).get(id)!;
    bySource.set(source, [...(bySource.get(source) ?? []), ...markers]);
  }

  /** The markers of checkpoint `id` from the given sources, in source order. */
  markersOf(id: number, sources: readonly string[]): unknown[] {
    const bySource = this.markers.get(id);
    return bySource ? sources.flatMap((s) => bySource.get(s) ?? []) : [];
  }

  /** Starts checkpoint `next` unless `limit` are in flight (periodic and final checkpoints wait for none). */
  private trigger(final: boolean, finished: boolean, limit = 1): number | null {
    if (this.inFlight.length >= limit) return null;
    const id = this.next++;
    this.inFlight.push({ id, started: this.clock.monotonic(), final, finished, acks: new Map() });
    this.requested = id;
    for (const w of this.requestWaiters.splice(0)) w();
    return id;
  }

  /** The newest requested barrier id (sources inject every id above the last they injected, in order). */
  get latestRequest(): number {
    return this.requested;
  }

  /** Resolves once a barrier newer than `after` is requested. */
  nextRequest(after: number): Promise<number> {
    if (this.requested > after) return Promise.resolve(this.requested);
    return new Promise((resolve) => this.requestWaiters.push(() => resolve(this.requested)));
  }

  /** A source has no more data (`exhausted`) or was stopped. Resolves with the id of the last checkpoint, which is
   * triggered once every source is done; meanwhile the source keeps answering `nextRequest`. */
  sourceDone(source: string, exhausted: boolean): Promise<number> {
    this.done.set(source, exhausted);
    if (!this.finalId) this.finalId = new Promise((resolve) => (this.resolveFinal = resolve));
    this.maybeTriggerFinal();
    return this.finalId;
  }

  private maybeTriggerFinal(): void {
    if (this.done.size < this.sources.length || !this.resolveFinal || this.inFlight.length) return;
    const finished = [...this.done.values()].every(Boolean);
    this.stop();
    const id = this.trigger(true, finished)!;
    this.resolveFinal(id);
    this.resolveFinal = null;
  }

  ack(vertex: string, id: number, states: StateBlob[] = []): void {
    const cp = this.inFlight.find((c) => c.id === id);
    if (!cp || cp.acks.has(vertex)) return;
    cp.acks.set(vertex, states);
    // Completions are serialised: checkpoint N is durable and committed before N+1.
    if (cp.acks.size === this.participants.length) this.completing = this.completing.then(() => this.complete(cp)).catch((e: unknown) => this.fail(e));
  }

  /** Completes `cp` together with the fully acknowledged checkpoints right after it: while one commit runs, a
   * source's commit points (Airbyte STATEs) may all be acknowledged, and the newest subsumes the older ones (as in
   * Flink): it alone is stored and committed (sinks commit "this and any older"), carrying all their markers. */
  private async complete(cp: InFlight): Promise<void> {
    if (this.halted) return;
    const first = this.inFlight.indexOf(cp);
    if (first < 0) return; // subsumed by a newer one
    let n = 1;
    while (first + n < this.inFlight.length && this.inFlight[first + n]!.acks.size === this.participants.length) n++;
    const done = this.inFlight.slice(first, first + n);
    const last = done[n - 1]!;
    if (n > 1) {
      // The older checkpoints' markers go first, in checkpoint order.
      const held = done.map((c) => this.markers.get(c.id));
      for (const c of done) this.markers.delete(c.id);
      for (const bySource of held) for (const [source, markers] of bySource ?? []) this.addMarkers(last.id, source, markers);
    }
    const states = [...last.acks.values()].flat();
    const ms = this.clock.monotonic() - cp.started;
    const bytes = (await this.store?.write({ id: last.id, durationMs: ms, parallelism: this.parallelism, finished: last.finished, states }, this.keep)) ?? 0;
    for (const c of done) {
      const entry = { id: c.id, ms: this.clock.monotonic() - c.started, bytes: c === last ? bytes : 0 };
      this.completed.push(entry);
      this.onCheckpoint?.({ ...entry, finished: c.finished });
    }
    for (const f of this.onComplete) await f(last.id);
    for (const f of this.afterCommit) await f(last.id);
    this.markers.delete(last.id);
    this.inFlight.splice(first, n);
    for (const w of this.idleWaiters.splice(0)) w();
    if (last.final) this.finalCommitted();
    this.maybeTriggerFinal();
  }
}
