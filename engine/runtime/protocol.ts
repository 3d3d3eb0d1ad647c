/**
 * @module runtime/protocol
 * Messages between the coordinating thread and pool workers. Batches travel as IPC bytes in the transfer list.
 */
import type { ChainMember } from '../compile/compile.js';

/** Where a chain's output goes: one exit per outgoing edge; `hash` exits are split by key in the worker. */
export interface ChainExit {
  readonly port: string;
  readonly hash?: { readonly columns: readonly number[]; readonly parallelism: number };
}

export interface WorkerData {
  /** Module URLs exporting `abflowComponents: AnySpec[]` (built-ins and user plugins). */
  readonly modules: readonly string[];
  readonly chains: Readonly<Record<string, { readonly members: readonly ChainMember[]; readonly exits: readonly ChainExit[] }>>;
}

export interface ChainTask {
  readonly type: 'process';
  readonly chain: string;
  readonly ipc: Uint8Array;
  readonly positions?: Float64Array;
  readonly origin?: string;
}

export interface PortOutput {
  /** Index into the chain's exits. */
  readonly exit: number;
  /** Target partition on hash exits. */
  readonly partition?: number;
  readonly ipc: Uint8Array;
  readonly positions?: Float64Array;
}

export interface NodeCounters {
  readonly nodeId: string;
  rowsIn: number;
  rowsOut: number;
  dead: number;
  /** Rows emitted on ports that nothing consumes. */
  discarded: number;
  busyMs: number;
}

export function zeroCounters(nodeId: string): NodeCounters {
  return { nodeId, rowsIn: 0, rowsOut: 0, dead: 0, discarded: 0, busyMs: 0 };
}

export interface ChainResult {
  readonly outputs: PortOutput[];
  readonly counters: NodeCounters[];
  /** Highest watermark candidate emitted by a watermark generator in the chain for this batch. */
  readonly watermark?: number;
}

export function isChainTask(x: unknown): x is ChainTask {
  return typeof x === 'object' && x !== null && (x as ChainTask).type === 'process' && (x as ChainTask).ipc instanceof Uint8Array;
}
