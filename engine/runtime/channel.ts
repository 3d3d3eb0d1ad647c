/**
 * @module runtime/channel
 * A bounded FIFO between two vertices. `push` waits while the channel is full: that wait is the engine's
 * backpressure, reaching from a slow sink back to the sources. Elements keep their order; watermarks and end-of-input
 * travel in the same queue as the batches they follow.
 */
import type { RecordBatch } from 'apache-arrow';

export type Element =
  | {
      readonly t: 'batch';
      readonly batch: RecordBatch;
      readonly positions?: Float64Array;
      readonly origin?: string;
      /** Target partition of a keyed consumer (hash edges). */
      readonly partition?: number;
    }
  /** Event time reached `ms`; `idle` marks an input with no data for its idle timeout (excluded from minimums). */
  | { readonly t: 'watermark'; readonly ms: number; readonly idle?: boolean }
  /** Checkpoint barrier: everything before it belongs to checkpoint `id`, everything after to the next. */
  | { readonly t: 'barrier'; readonly id: number }
  | { readonly t: 'end' };

export class ChannelClosed extends Error {
  constructor() {
    super('channel closed');
  }
}

interface Waiter<V> {
  readonly resolve: (v: V) => void;
  readonly reject: (e: Error) => void;
}

export class Channel<T = Element> {
  private readonly items: T[] = [];
  // Waiters leave their list when served: a settled wait must not keep its closure (and the element it received)
  // reachable from the channel for the rest of the job.
  private readonly waitingPull: Waiter<T>[] = [];
  private readonly waitingPush: Waiter<void>[] = [];
  private closedWith: Error | null = null;
  /** Deepest the queue has been: the bound the backpressure tests check. */
  maxDepth = 0;

  constructor(
    readonly name: string,
    readonly capacity: number,
  ) {}

  get depth(): number {
    return this.items.length;
  }

  async push(e: T): Promise<void> {
    while (this.items.length >= this.capacity && !this.closedWith) {
      await new Promise<void>((resolve, reject) => this.waitingPush.push({ resolve, reject }));
    }
    if (this.closedWith) throw this.closedWith;
    const puller = this.waitingPull.shift();
    if (puller) puller.resolve(e);
    else {
      this.items.push(e);
      if (this.items.length > this.maxDepth) this.maxDepth = this.items.length;
    }
  }

  async pull(): Promise<T> {
    if (this.items.length) {
      const e = this.items.shift()!;
      this.waitingPush.shift()?.resolve();
      return e;
    }
    if (this.closedWith) throw this.closedWith;
    return new Promise<T>((resolve, reject) => this.waitingPull.push({ resolve, reject }));
  }

  /** Fails every waiting and future push/pull (used when the job aborts). */
  close(err: Error = new ChannelClosed()): void {
    if (this.closedWith) return;
    this.closedWith = err;
    for (const w of this.waitingPull.splice(0)) w.reject(err);
    for (const w of this.waitingPush.splice(0)) w.reject(err);
  }
}
