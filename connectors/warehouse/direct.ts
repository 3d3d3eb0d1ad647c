/**
 * Direct appends: a warehouse sink's rows go straight into the target table, inside a transaction of the loader's own
 * connection that commits with each checkpoint (together with its `_abflow_commits` record), instead of into a stage
 * that every commit then copies into the target. `staged.ts` chooses this path when nothing needs the stage: the
 * staged rows need not outlive a crash (commit points only, or no checkpoints), the commit does not merge (not
 * append_dedup) and the rows need no cast (the table's columns are the input's). An uncommitted transaction vanishes
 * in a crash exactly like the transient stage would.
 *
 * Rows written after checkpoint N's barrier belong to epoch N+1 and must not enter the transaction that commits N.
 * While a sealed epoch waits for its checkpoint to complete, later rows are therefore held (references to their
 * immutable batches) and appended once that commit is on its way; a commit that covers several epochs (an earlier
 * completion arrived late) moves their held rows into its transaction, so it stays one transaction. Every loader call
 * runs in one ordered chain (a write appends at once when nothing is queued), and the decisions are taken
 * synchronously when the sink is called, so a write racing a commit lands on the right side of it.
 */
import type { RecordBatch } from '../../engine/api.js';

/** A bulk loader into the target table whose appends join an explicit transaction on its own connection. */
export interface TransactionLoader {
  /** BEGIN, then `statements` (the first transaction of an `overwrite` run replaces the table). */
  begin(statements: readonly string[]): Promise<void>;
  /** Synchronous, as DuckDB's appender is: an append between two queued tasks runs in the caller's turn. */
  append(batch: RecordBatch): void;
  /** Makes every append part of the open transaction. */
  flush(): Promise<void>;
  /** `statements`, then COMMIT. */
  commit(statements: readonly string[]): Promise<void>;
  /** Rolls back an open transaction. */
  close(): Promise<void>;
}

export interface EpochTransactionsOptions {
  /** The epoch of the first rows written. */
  readonly epoch: number;
  /** Statements opening the run's first transaction. */
  readonly first: readonly string[];
  /** Statements recording, inside its transaction, that epochs up to `id` committed. */
  readonly record: (id: number) => readonly string[];
  /** Rows waiting (held or queued for the loader) past which `write` makes the engine wait. */
  readonly maxPendingRows: number;
}

export class EpochTransactions {
  private chain: Promise<void> = Promise.resolve();
  private failure: { error: unknown } | null = null;
  private begun = false;
  private first: readonly string[];
  private held: { batch: RecordBatch; epoch: number }[] = [];
  /** The latest epoch whose barrier arrived (rows written now belong to the next), and the latest committed: rows
   * are held while the first is ahead. */
  private sealed: number;
  private committed: number;
  private pendingRows = 0;
  /** Tasks enqueued and not yet settled: with none, a write appends at once (counted as the sink's busy time,
   * without a promise per batch). */
  private queued = 0;
  private waiting: (() => void)[] = [];

  constructor(
    private readonly loader: TransactionLoader,
    private readonly opts: EpochTransactionsOptions,
  ) {
    this.sealed = this.committed = opts.epoch - 1;
    this.first = opts.first;
  }

  write(batch: RecordBatch): void | Promise<void> {
    this.rethrow();
    if (this.sealed <= this.committed && this.begun && this.queued === 0) return this.appendNow(batch);
    this.pendingRows += batch.numRows;
    if (this.sealed > this.committed) this.held.push({ batch, epoch: this.sealed + 1 });
    else this.later(() => this.append(batch));
    if (this.pendingRows <= this.opts.maxPendingRows) return;
    return new Promise<void>((resolve) => this.waiting.push(resolve)).then(() => this.rethrow());
  }

  /** Barrier `id`: the rows written so far are epoch `id`'s (or older). Appended ones reach the transaction now;
   * held ones wait for their commit. */
  async preCommit(id: number): Promise<void> {
    this.rethrow();
    const done = this.sealed > this.committed ? this.chain : this.enqueue(() => this.loader.flush());
    this.sealed = id;
    await done;
    this.rethrow();
  }

  /** Commits every epoch up to `id` in one transaction, with `extra` statements (clean-ups of a run's end). */
  async commit(id: number, extra: readonly string[] = []): Promise<void> {
    this.rethrow();
    if (id <= this.committed) return;
    const moving = this.held.filter((h) => h.epoch <= id);
    this.held = this.held.filter((h) => h.epoch > id);
    this.committed = id;
    const done = this.enqueue(async () => {
      for (const h of moving) await this.append(h.batch);
      await this.begin();
      await this.loader.flush();
      this.begun = false;
      await this.loader.commit([...this.opts.record(id), ...extra]);
    });
    // No sealed epoch is waiting any more: the rows still held are the open epoch's, and go on directly.
    if (this.sealed <= this.committed) {
      for (const h of this.held) this.later(() => this.append(h.batch));
      this.held = [];
    }
    await done;
    this.rethrow(); // a failure before this commit's turn skipped it
  }

  async close(): Promise<void> {
    await this.chain;
    await this.loader.close();
    this.rethrow();
  }

  /** Lets the loader go without committing: the task under way finishes first (its connection must not close under
   * a running statement), later ones are skipped, and the open transaction rolls back. */
  async abort(): Promise<void> {
    this.failure ??= { error: new Error('aborted') };
    await this.chain;
    await this.loader.close();
  }

  private async begin(): Promise<void> {
    if (this.begun) return;
    await this.loader.begin(this.first);
    this.first = [];
    this.begun = true;
  }

  private appendNow(batch: RecordBatch): void {
    try {
      this.loader.append(batch);
    } catch (error) {
      this.failure ??= { error };
      throw error;
    }
  }

  private async append(batch: RecordBatch): Promise<void> {
    await this.begin();
    this.appendNow(batch);
    this.pendingRows -= batch.numRows;
    if (this.pendingRows <= this.opts.maxPendingRows / 2) for (const wake of this.waiting.splice(0)) wake();
  }

  /** Runs `task` after every earlier one; after a failure none runs, and the failure surfaces at the next call. */
  private enqueue(task: () => Promise<void>): Promise<void> {
    this.queued++;
    const run = this.chain
      .then(() => {
        if (!this.failure) return task();
      })
      .finally(() => this.queued--);
    this.chain = run.catch((error: unknown) => {
      this.failure ??= { error };
      for (const wake of this.waiting.splice(0)) wake();
    });
    return run;
  }

  /** Enqueues `task` without waiting for it: its failure surfaces at the next call. */
  private later(task: () => Promise<void>): void {
    this.enqueue(task).catch(() => undefined);
  }

  private rethrow(): void {
    if (this.failure) throw this.failure.error;
  }
}
