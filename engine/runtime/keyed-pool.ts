/**
 * @module runtime/keyed-pool
 * The job's keyed threads: thread k hosts partition k of every keyed vertex (Flink's slot sharing), so a plan starts
 * max(parallelism) keyed threads, not one per vertex and partition (each costs ≈ 0.3 s of CPU to load the modules;
 * on two cores Nexmark q5, with two keyed vertices, ran 7 threads before). Replies are routed to the waiting
 * request of their vertex's partition. With `engine.inline` partition k's host runs on this thread (inline.ts).
 */
import type { KeyedReply, KeyedRequest } from './keyed-host.js';
import { inlineKeyedChannel } from './inline.js';
import { siblingUrl, startThread } from './loader.js';
import { zeroCounters } from './protocol.js';

/** How requests reach partition k's host and its replies come back (`deliver`); `crash`: the host itself failed. */
export interface KeyedChannel {
  readonly ready: Promise<void>;
  post(req: KeyedRequest, transfer: ArrayBuffer[]): void;
  terminate(): Promise<void>;
}

export interface KeyedThread {
  readonly channel: KeyedChannel;
  /** Per vertex, the waiting requests of its partition on this thread. */
  readonly pending: Map<string, Map<number, (r: KeyedReply) => void>>;
}

function workerChannel(modules: readonly string[], deliver: (r: KeyedReply) => void, crash: (e: Error) => void): KeyedChannel {
  const worker = startThread(siblingUrl(import.meta.url, 'keyed-worker'), { modules });
  const ready = new Promise<void>((resolve, reject) => {
    worker.on('message', (r: KeyedReply | { ready: true }) => ('ready' in r ? resolve() : deliver(r)));
    worker.once('error', reject);
  });
  worker.on('error', crash);
  return {
    ready,
    post: (req, transfer) => worker.postMessage(req, transfer),
    terminate: async () => void (await worker.terminate()),
  };
}

export class KeyedPool {
  private readonly threads: KeyedThread[] = [];

  /** `onCrash(e, starter)`: a thread itself failed; reported against the vertex that started it. */
  constructor(
    private readonly modules: readonly string[],
    private readonly inline: boolean,
    private readonly onCrash: (e: Error, starter: string) => void,
  ) {}

  /** Keyed thread k, started on first use by vertex `starter`. */
  thread(k: number, starter: string): KeyedThread {
    const existing = this.threads[k];
    if (existing) return existing;
    const pending = new Map<string, Map<number, (r: KeyedReply) => void>>();
    const deliver = (r: KeyedReply) => pending.get(r.vertex)?.get(r.seq)?.(r);
    const crash = (e: Error) => {
      this.onCrash(e, starter);
      // No reply will come: answer every waiting request with the error, so the vertices waiting on them finish.
      for (const [vertex, waiting] of pending)
        for (const [seq, reply] of waiting)
          reply({ seq, vertex, outputs: [], counters: zeroCounters(vertex), error: { message: `keyed thread ${k} stopped: ${e.message}` } });
    };
    const channel = (this.inline ? inlineKeyedChannel : workerChannel)(this.modules, deliver, crash);
    channel.ready.catch(() => undefined); // reported through `crash`
    return (this.threads[k] = { channel, pending });
  }

  async terminate(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.channel.terminate()));
  }
}
