/**
 * @module arrow/ipc
 * Batches cross thread boundaries only as Arrow IPC bytes whose buffers are transferred, never cloned; Arrow class
 * instances do not survive structured clone. Decoding is zero-copy: the batch's buffers are views of the bytes.
 */
import { type RecordBatch, RecordBatchReader, Table, tableToIPC } from 'apache-arrow';

/** IPC bytes that own their whole ArrayBuffer, so the buffer can be transferred (small Node buffers are views into a
 * shared pool slab, and transferring a slab would hand other allocations' bytes to the other thread). */
export function toIPC(batch: RecordBatch): Uint8Array {
  const bytes = tableToIPC(new Table(batch), 'stream');
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
}

export function fromIPC(bytes: Uint8Array): RecordBatch {
  const reader = RecordBatchReader.from(bytes);
  const first = reader.next();
  if (first.done || !first.value) throw new Error('IPC stream holds no record batch');
  return first.value as RecordBatch;
}
