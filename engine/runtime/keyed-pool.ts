/**
 * @module runtime/keyed-pool
 * The job's keyed threads: thread k hosts partition k of every keyed vertex (Flink's slot sharing), so a plan starts
 * max(parallelism) keyed threads, not one per vertex and partition (each costs ≈ 0.3 s of CPU to load the modules;
 * on two cores Nexmark q5, with two keyed vertices, ran 7 threads before). Replies are routed to the waiting
 * request of their vertex's partition.
 */
import type { Worker } from 'node:worker_threads';
import type { KeyedReply } from './keyed-host.js';
import { siblingUrl, startThread } from './loader.js';
import { zeroCounters } from './protocol.js';

export interface KeyedThread {
  readonly worker: Worker;
  readonly ready: Promise<void>;
  /** Per vertex, the waiting requests of its partition on this thread. */
  readonly pending: Map<string, Map<number, (r: KeyedReply) => void>>;
}

export class KeyedPool {
  private readonly threads: KeyedThread[] = [];

  /** `onCrash(e, starter)`: a thread itself failed; reported against the vertex that started it. */
  constructor(
    private readonly modules: readonly string[],
    private readonly onCrash: (e: Error, starter: string) => void,
  ) {}

  /** Keyed thread k, started on first use by vertex `starter`. */
  thread(k: number, starter: string): KeyedThread {
    const existing = this.threads[k];
    if (existing) return existing;
    const worker = startThread(siblingUrl(import.meta.url, 'keyed-worker'), { modules: this.modules });
    const pending = new Map<string, Map<number, (r: KeyedReply) => void>>();
    const ready = new Promise<void>((resolve, reject) => {
      worker.on('message', (r: KeyedReply | { ready: true }) => ('ready' in r ? resolve() : pending.get(r.vertex)?.get(r.seq)?.(r)));
      worker.once('error', reject);
    });
    ready.catch(() => undefined); // reported by the listener below
    worker.on('error', (e) => {
      this.onCrash(e, starter);
      // No reply will come: answer every waiting request with the error, so the vertices waiting on them finish.
      for (const [vertex, waiting] of pending)
        for (const [seq, reply] of waiting)
          reply({ seq, vertex, outputs: [], counters: zeroCounters(vertex), error: { message: `keyed thread ${k} stopped: ${e.message}` } });
    });
    return (this.threads[k] = { worker, ready, pending });
  }

  async terminate(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.worker.terminate()));
  }
}
