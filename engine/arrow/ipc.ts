/**
 * @module arrow/ipc
 * Batches cross thread boundaries only as Arrow IPC bytes whose buffers are transferred, never cloned; Arrow class
 * instances do not survive structured clone. Decoding is zero-copy: the batch's buffers are views of the bytes.
 */
import { type RecordBatch, RecordBatchReader, Table, tableToIPC } from 'apache-arrow';

export function toIPC(batch: RecordBatch): Uint8Array {
  return tableToIPC(new Table(batch), 'stream');
}

export function fromIPC(bytes: Uint8Array): RecordBatch {
  const reader = RecordBatchReader.from(bytes);
  const first = reader.next();
  if (first.done || !first.value) throw new Error('IPC stream holds no record batch');
  return first.value as RecordBatch;
}

/** The ArrayBuffers to put in a transfer list (skipping ones that cannot be transferred, e.g. shared pools). */
export function transferables(...arrays: (ArrayBufferView | undefined)[]): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const a of arrays) if (a && a.buffer instanceof ArrayBuffer && a.byteLength === a.buffer.byteLength) out.add(a.buffer);
  return [...out];
}
