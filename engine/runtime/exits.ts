/**
 * @module runtime/exits
 * Turns an operator's port outputs into wire messages for its exits (one per outgoing edge), splitting batches for
 * hash exits by key in the thread that produced them.
 */
import type { RecordBatch } from 'apache-arrow';
import { toIPC } from '../arrow/ipc.js';
import { partitionBatch } from './partition.js';
import type { ChainExit, PortOutput } from './protocol.js';

export interface PortBatch {
  readonly port: string;
  readonly batch: RecordBatch;
  readonly positions: Float64Array | undefined;
}

export function toExits(outputs: readonly PortBatch[], exits: readonly ChainExit[]): { wire: PortOutput[]; transfer: ArrayBuffer[] } {
  const wire: PortOutput[] = [];
  for (const o of outputs) {
    exits.forEach((exit, k) => {
      if (exit.port !== o.port) return;
      if (!exit.hash) {
        wire.push({ exit: k, ipc: toIPC(o.batch), ...(o.positions ? { positions: o.positions.slice() } : {}) });
        return;
      }
      for (const piece of partitionBatch(o.batch, exit.hash.columns, exit.hash.parallelism)) {
        const positions = o.positions ? Float64Array.from(piece.rows, (r) => o.positions![r]!) : undefined;
        wire.push({ exit: k, partition: piece.partition, ipc: toIPC(piece.batch), ...(positions ? { positions } : {}) });
      }
    });
  }
  const transfer = wire.flatMap((o) => [o.ipc.buffer, ...(o.positions ? [o.positions.buffer] : [])]) as ArrayBuffer[];
  return { wire, transfer };
}
