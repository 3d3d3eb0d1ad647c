/**
 * @module runtime/worker-host
 * What a pool worker does, loaded by worker.ts through the same module loader as the component modules, so that
 * the engine, apache-arrow and the operators share one module graph inside the worker.
 */
import { fromIPC, toIPC } from '../arrow/ipc.js';
import type { AnySpec } from '../operator.js';
import { Registry } from '../registry.js';
import { ChainExecutor } from './chain.js';
import { type ChainResult, isChainTask, type PortOutput, type WorkerData } from './protocol.js';

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

  return async function run(task: unknown): Promise<HostResult> {
    if (!isChainTask(task)) throw new Error('abflow worker: unexpected task shape');
    try {
      registry ??= loadRegistry();
      let exec = executors.get(task.chain);
      if (!exec) {
        const chain = data.chains[task.chain];
        if (!chain) throw new Error(`unknown chain ${task.chain}`);
        exec = new ChainExecutor(chain.members, chain.external, await registry);
        executors.set(task.chain, exec);
      }
      const { outputs, counters } = await exec.run(fromIPC(task.ipc), task.positions, task.origin);
      const wire: PortOutput[] = outputs.map((o) => ({ port: o.port, ipc: toIPC(o.batch), ...(o.positions ? { positions: o.positions.slice() } : {}) }));
      const transfer = wire.flatMap((o) => [o.ipc.buffer, ...(o.positions ? [o.positions.buffer] : [])]) as ArrayBuffer[];
      return { result: { outputs: wire, counters }, transfer };
    } catch (e) {
      const err = e as Error & { nodeId?: string };
      return { error: { message: err.message, ...(err.nodeId ? { nodeId: err.nodeId } : {}) } };
    }
  };
}
