/**
 * @module runtime/vertices/dead-letters
 * The plan's dead-letter file (`engine.deadLetters`) for dead letters no sink in the plan takes: one JSON line per
 * letter, appended when the run resumes from a checkpoint.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { rowObject } from '../../arrow/columns.js';
import type { Vertex } from '../../compile/compile.js';
import { readAligned } from '../align.js';
import { zeroCounters } from '../protocol.js';
import type { VertexRuntime } from './runtime.js';

export async function runDeadLetters(v: Extract<Vertex, { type: 'dead_letters' }>, rt: VertexRuntime): Promise<void> {
  let out: WriteStream | null = null;
  await readAligned(
    rt.wiring.inputs(v.id),
    async (el) => {
      if (el.t !== 'batch') return;
      if (!out) {
        mkdirSync(dirname(v.path), { recursive: true });
        out = createWriteStream(v.path, { flags: rt.resumeFrom === null ? 'w' : 'a' });
      }
      let text = '';
      for (let i = 0; i < el.batch.numRows; i++) text += JSON.stringify(rowObject(el.batch, i)) + '\n';
      rt.count([{ ...zeroCounters('dead_letters'), rowsIn: el.batch.numRows }]);
      if (!out.write(text)) await new Promise<void>((r) => out!.once('drain', () => r()));
    },
    async (id) => rt.coordinator?.ack(v.id, id),
  );
  const stream = out as WriteStream | null;
  if (stream) await new Promise<void>((resolve, reject) => stream.end((e?: Error | null) => (e ? reject(e) : resolve())));
}
