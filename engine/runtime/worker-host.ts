/**
 * @module runtime/worker-host
 * What a pool worker does, loaded by worker.ts through the same module loader as the component modules, so that
 * the engine, apache-arrow and the operators share one module graph inside the worker.
 */
import { fromIPC } from '../arrow/ipc.js';
import type { AnySpec } from '../operator.js';
import { Registry } from '../registry.js';
import { ChainExecutor } from './chain.js';
import { toExits } from './exits.js';
import { type ChainResult, isChainTask, type WorkerData } from './protocol.js';

export type HostResult = { result: ChainResult; transfer: ArrayBuffer[] } | { error: { message: string; nodeId?: string } };

export function createHost(data: WorkerData, importModule: (url: string) => Promise<unknown>) {
  let registry: Promise<Registry> | undefined;
  const executors = new Map<string, ChainExecutor>();

  async function loadRegistry(): Promise<Registry> {
    const specs: AnySpec[] = [];
    for (const url of data.modules) {
      const mod = (await importModule(url)) as { abflowComponents?: readonly AnySpec[] };
      specs.push(...(mod.abflowComponents ?? []));
    }
    return new Registry(specs, { override: true });
  }

  async function executor(id: string): Promise<ChainExecutor> {
    registry ??= loadRegistry();
    let exec = executors.get(id);
    if (!exec) {
      const chain = data.chains[id];
      if (!chain) throw new Error(`unknown chain ${id}`);
      exec = new ChainExecutor(
        chain.members,
        chain.exits.map((e) => e.port),
        await registry,
      );
      executors.set(id, exec);
    }
    return exec;
  }

  return async function run(task: unknown): Promise<HostResult> {
    const warm = (task as { type?: unknown }).type === 'warm';
    if (!warm && !isChainTask(task)) throw new Error('abflow worker: unexpected task shape');
    try {
      if (!isChainTask(task)) {
        // A warm-up: load every component module and create every chain's operators before the first batch arrives.
        for (const id of Object.keys(data.chains)) await executor(id);
        return { result: { outputs: [], counters: [] }, transfer: [] };
      }
      const exec = await executor(task.chain);
      const { outputs, counters, watermark } = await exec.run(fromIPC(task.ipc), task.positions, task.origin);
      // Hash exits are split here, in the pool, so the coordinating thread does no per-row work.
      const { wire, transfer } = toExits(outputs, data.chains[task.chain]!.exits);
      return { result: { outputs: wire, counters, ...(watermark > -Infinity ? { watermark } : {}) }, transfer };
    } catch (e) {
      const err = e as Error & { nodeId?: string };
      return { error: { message: err.message, ...(err.nodeId ? { nodeId: err.nodeId } : {}) } };
    }
  };
}
