/**
 * @module runtime/worker
 * Pool worker entry. Loads the component modules named in workerData (built-ins plus user plugins), builds each
 * chain's operators once, then runs batches: IPC bytes in, IPC bytes out, moved rather than copied.
 */
import { Piscina, workerData } from 'piscina';
import type { AnySpec } from '../operator.js';
import { fromIPC, toIPC } from '../arrow/ipc.js';
import { Registry } from '../registry.js';
import { ChainExecutor } from './chain.js';
import { type ChainResult, isChainTask, type PortOutput, type WorkerData } from './protocol.js';

const data = workerData as WorkerData;
let registry: Promise<Registry> | undefined;
const executors = new Map<string, ChainExecutor>();

async function loadRegistry(): Promise<Registry> {
  const specs: AnySpec[] = [];
  for (const url of data.modules) {
    const mod = (await import(url)) as { abflowComponents?: readonly AnySpec[] };
    specs.push(...(mod.abflowComponents ?? []));
  }
  return new Registry(specs, { override: true });
}

export default async function run(task: unknown): Promise<ChainResult | { error: { message: string; nodeId?: string } }> {
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
    const result: ChainResult = { outputs: wire, counters };
    const buffers = wire.flatMap((o) => [o.ipc.buffer, ...(o.positions ? [o.positions.buffer] : [])]) as ArrayBuffer[];
    // A movable wrapper: piscina transfers `buffers` and hands `result` to the caller (no copy of batch bytes).
    return Piscina.move({
      get [Piscina.transferableSymbol]() {
        return buffers;
      },
      get [Piscina.valueSymbol]() {
        return result;
      },
    } as never) as never;
  } catch (e) {
    const err = e as Error & { nodeId?: string };
    return { error: { message: err.message, ...(err.nodeId ? { nodeId: err.nodeId } : {}) } };
  }
}
