/**
 * @module runtime/pool
 * Where chain drivers ship batches. The only module that touches piscina: one pool per job, sized to the job's
 * parallelism; workers load the same component modules as the coordinating thread, so user operators run in the pool
 * like built-ins. With `engine.inline` the same host runs on this thread instead (inline.ts).
 */
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { AbflowError } from '../errors.js';
import type { ChainResult, ChainTask, WorkerData } from './protocol.js';

/** What runs a job's pooled chains: worker threads, or this thread (inline.ts). */
export interface ChainPool {
  /** Resolves once the component modules are loaded and the chains' operators created. */
  warm(threads: number): Promise<void>;
  run(task: ChainTask): Promise<ChainResult>;
  close(): Promise<void>;
  /** Ends what runs now, busy or not: its tasks fail. */
  destroy(): Promise<void>;
}

/** The buffers a task moves to its host rather than copies. */
export const transferOf = (task: ChainTask): ArrayBuffer[] => [task.ipc.buffer, ...(task.positions ? [task.positions.buffer] : [])] as ArrayBuffer[];

/** A host's answer as the chain driver sees it: a failure becomes an error naming its node. */
export function chainResult(res: ChainResult | { error: { message: string; nodeId?: string } }): ChainResult {
  if ('error' in res) throw new AbflowError('operator_failed', res.error.message, { ...(res.error.nodeId ? { nodeId: res.error.nodeId } : {}) });
  return res;
}

export interface PoolOptions {
  readonly threads: number;
  readonly data: WorkerData;
}

export class WorkerPool implements ChainPool {
  private readonly pool: Piscina;

  constructor(opts: PoolOptions) {
    if (!Number.isInteger(opts.threads) || opts.threads < 1) throw new AbflowError('config', `options.threads must be a positive integer, got ${opts.threads}`);
    // Under vitest/tsx the engine runs from .ts sources; the worker then needs the tsx loader. Production runs dist/*.js.
    const fromSource = import.meta.url.endsWith('.ts');
    const filename = fileURLToPath(new URL(fromSource ? './worker.ts' : './worker.js', import.meta.url));
    this.pool = new Piscina({
      filename,
      minThreads: opts.threads,
      maxThreads: opts.threads,
      idleTimeout: 60_000,
      // No queue limit here: the chain driver bounds in-flight tasks per chain (parallelism × inFlightPerWorker).
      workerData: opts.data,
      ...(fromSource ? { execArgv: ['--import', 'tsx'] } : {}),
    });
  }

  /** Resolves once every worker has loaded the component modules and created the chains' operators, so the first
   * batches do not wait behind start-up work (which shows as a latency spike at the start of a paced stream). */
  async warm(threads: number): Promise<void> {
    await Promise.all(Array.from({ length: threads }, () => this.call({ type: 'warm' }, [])));
  }

  async run(task: ChainTask): Promise<ChainResult> {
    return this.call(task, transferOf(task));
  }

  private async call(task: ChainTask | { type: 'warm' }, transferList: ArrayBuffer[]): Promise<ChainResult> {
    return chainResult((await this.pool.run(task, { transferList })) as Parameters<typeof chainResult>[0]);
  }

  async close(): Promise<void> {
    await this.pool.close({ force: true });
  }

  async destroy(): Promise<void> {
    await this.pool.destroy();
  }
}
