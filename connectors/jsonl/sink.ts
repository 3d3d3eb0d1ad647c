/**
 * `jsonl` sink: writes rows as JSON lines to a file or stdout (`path: "-"`). A file is written under a temporary
 * name and renamed into place when the run completes, so readers never see a half-written file. Timestamps are ISO
 * 8601 (UTC); 64-bit integers beyond ±2^53 are written as strings rather than rounded.
 */
import { createWriteStream, mkdirSync, renameSync, rmSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { defineSink, rowObject, z } from '../../engine/api.js';

const config = z
  .object({
    path: z.string().min(1).describe('Output file, or "-" for standard output.'),
  })
  .strict();

function finish(stream: WriteStream | NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve, reject) => {
    if (stream === process.stdout) return resolve();
    (stream as WriteStream).end((e?: Error | null) => (e ? reject(e) : resolve()));
  });
}

export const jsonlSink = defineSink({
  kind: 'jsonl',
  summary: 'Writes rows as JSON lines to a file (made visible atomically at the end) or stdout.',
  config,
  inputs: { min: 1, max: 64 },
  examples: [{ title: 'Dead letters to a file', yaml: `id: dlq\nkind: jsonl\ninputs: [parse.dead_letter]\nconfig:\n  path: out/dead_letters.jsonl` }],
  display: (cfg) => ({ path: cfg.path }),
  create(cfg) {
    const toStdout = cfg.path === '-';
    const tmp = `${cfg.path}.inprogress`;
    let out: WriteStream | NodeJS.WriteStream;
    return {
      async open() {
        if (toStdout) out = process.stdout;
        else {
          mkdirSync(dirname(cfg.path), { recursive: true });
          out = createWriteStream(tmp);
        }
      },
      async write(batch) {
        let text = '';
        for (let i = 0; i < batch.numRows; i++) text += JSON.stringify(rowObject(batch, i)) + '\n';
        if (!out.write(text)) await new Promise<void>((r) => out.once('drain', () => r()));
      },
      async close() {
        await finish(out);
        if (!toStdout) renameSync(tmp, cfg.path);
      },
      async abort() {
        if (toStdout) return;
        await finish(out).catch(() => undefined);
        rmSync(tmp, { force: true });
      },
    };
  },
});
