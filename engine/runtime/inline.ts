/**
 * @module runtime/inline
 * `engine.inline`: every operator runs on the coordinating thread. Pooled chains and keyed partitions go through the
 * hosts the worker threads run (worker-host.ts, keyed-host.ts), with the same messages and IPC bytes, copied and
 * moved across as a thread's messages are (structuredClone with the same transfer lists: a snapshot handed over by
 * reference would go on changing after its barrier), and answered on a later turn of the event loop, only without
 * threads — so an inline run is the production code path, one batch at a time. For debugging with breakpoints,
 * one-thread profiles, the smallest containers (a thread costs ≈ 0.3 s of CPU to load the modules), and tests that
 * must see the engine's own code run in their thread (mutation testing).
 */
import type { KeyedReply, KeyedRequest } from './keyed-host.js';
import { createKeyedHost } from './keyed-host.js';
import type { KeyedChannel } from './keyed-pool.js';
import { type ChainPool, chainResult, transferOf } from './pool.js';
import type { ChainResult, ChainTask, WorkerData } from './protocol.js';
import { createHost, type HostResult } from './worker-host.js';

/** Component modules are already loaded on this thread: importing them again returns the same module graph. */
const importHere = (url: string): Promise<unknown> => import(url);

/** A later turn of the event loop, where a thread's reply would arrive. Without it a busy job runs on microtasks
 * alone, and timers — checkpoint intervals, idle timeouts, processing-time ticks, progress — wait for the input to end. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** One host, one task at a time, as in a pool worker: a chain's operators are not made to run two batches at once. */
export class InlinePool implements ChainPool {
  private readonly host: (task: unknown) => Promise<HostResult>;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(data: WorkerData) {
    this.host = createHost(data, importHere);
  }

  async warm(): Promise<void> {
    await this.call({ type: 'warm' });
  }

  run(task: ChainTask): Promise<ChainResult> {
    return this.call(structuredClone(task, { transfer: transferOf(task) }));
  }

  private call(task: ChainTask | { type: 'warm' }): Promise<ChainResult> {
    const done = this.queue.then(async () => {
      await nextTurn();
      const r = await this.host(task);
      return chainResult('error' in r ? r : structuredClone(r.result, { transfer: r.transfer }));
    });
    this.queue = done.catch(() => undefined);
    return done;
  }

  async close(): Promise<void> {}

  async destroy(): Promise<void> {}
}

/** Keyed partition k's host on this thread: requests handled one at a time, in order, as keyed-worker.ts does. */
export function inlineKeyedChannel(modules: readonly string[], deliver: (r: KeyedReply) => void, crash: (e: Error) => void): KeyedChannel {
  const handle = createKeyedHost({ modules }, importHere);
  handle.catch(crash);
  let queue: Promise<void> = Promise.resolve();
  let stopped = false;
  return {
    ready: handle.then(() => undefined),
    post(req: KeyedRequest, transfer: ArrayBuffer[]) {
      const sent = structuredClone(req, { transfer });
      queue = queue.then(async () => {
        await nextTurn();
        if (stopped) return;
        try {
          const { reply, transfer: back } = await (await handle)(sent);
          deliver(structuredClone(reply, { transfer: back }));
        } catch (e) {
          crash(e as Error);
        }
      });
    },
    async terminate() {
      stopped = true;
    },
  };
}
