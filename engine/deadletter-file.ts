/**
 * @module deadletter-file
 * The job's dead-letter file (`engine.deadLetters`) as an ordinary sink: dead letters no sink of the plan takes go
 * here, one JSON line each, appended to when the run resumes from a checkpoint (a resumed run's letters follow the
 * earlier ones). The compiler adds it; it is not a component a plan names.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { rowObject } from './arrow/columns.js';
import type { SinkSpec } from './operator.js';

/** The node id (and metrics name) of the dead-letter file. */
export const DEAD_LETTERS_NODE = 'dead_letters';

const config = z.object({ path: z.string().min(1) }).strict();

export const deadLetterFile: SinkSpec<z.output<typeof config>> = {
  role: 'sink' as const,
  kind: 'dead_letter_file',
  summary: 'The job’s dead-letter file (engine.deadLetters), for dead letters no sink takes.',
  config,
  examples: [],
  create(cfg, ctx) {
    let out: WriteStream | null = null;
    const end = async () => {
      const stream = out;
      out = null;
      if (stream) await new Promise<void>((resolve, reject) => stream.end((e?: Error | null) => (e ? reject(e) : resolve())));
    };
    return {
      async write(batch) {
        if (!out) {
          mkdirSync(dirname(cfg.path), { recursive: true });
          out = createWriteStream(cfg.path, { flags: (ctx.checkpointing?.resumeFrom ?? null) === null ? 'w' : 'a' });
        }
        let text = '';
        for (let i = 0; i < batch.numRows; i++) text += JSON.stringify(rowObject(batch, i)) + '\n';
        const stream = out;
        if (!stream.write(text)) await new Promise<void>((resolve) => stream.once('drain', () => resolve()));
      },
      close: end,
      abort: end,
    };
  },
};
