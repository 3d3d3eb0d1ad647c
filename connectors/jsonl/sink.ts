/**
 * `jsonl` sink: writes rows as JSON lines to a file or stdout (`path: "-"`). Without checkpoints a file is written
 * under a temporary name and renamed into place when the run completes, so readers never see a half-written file;
 * with checkpoints it grows by whole checkpoints, exactly once (two-phase commit, see `exactlyOnce`). Timestamps are
 * ISO 8601 (UTC); 64-bit integers beyond ±2^53 are written as strings rather than rounded.
 */
import {
  appendFileSync,
  closeSync,
  createWriteStream,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
  type WriteStream,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { RecordBatch } from 'apache-arrow';
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
  resources: (cfg) => (cfg.path === '-' ? [] : [{ kind: 'write', path: cfg.path, at: ['path'] }]),
  create(cfg, ctx) {
    if (ctx.checkpointing && cfg.path !== '-') return exactlyOnce(cfg.path, ctx.checkpointing.resumeFrom);
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
        if (!out.write(toLines(batch))) await new Promise<void>((r) => out.once('drain', () => r()));
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

function toLines(batch: RecordBatch): string {
  let text = '';
  for (let i = 0; i < batch.numRows; i++) text += JSON.stringify(rowObject(batch, i)) + '\n';
  return text;
}

function fsyncFile(path: string): void {
  const fd = openSync(path, 'r+');
  fsyncSync(fd);
  closeSync(fd);
}

/**
 * Exactly-once file output when the job takes checkpoints. Rows go to `<path>.stage-open`; on a barrier that file
 * is made durable and renamed `<path>.stage-<epoch>`; when the checkpoint completes, staged epochs are appended to
 * the file in order and `<path>.abflow.json` (committed epoch and file length, replaced atomically) records it.
 * On restart the file is cut back to the recorded length (dropping an append a crash interrupted), staged epochs up
 * to the resumed checkpoint are committed, later ones deleted: the replay writes them again.
 */
function exactlyOnce(path: string, resumeFrom: number | null) {
  const dir = dirname(path);
  const manifest = `${path}.abflow.json`;
  const open = `${path}.stage-open`;
  const staged = () =>
    readdirSync(dir)
      .filter((f) => f.startsWith(`${basename(path)}.stage-`) && /\.stage-\d+$/.test(f))
      .map((f) => ({ file: join(dir, f), epoch: Number(f.slice(f.lastIndexOf('-') + 1)) }))
      .sort((a, b) => a.epoch - b.epoch);
  let committed = { epoch: -1, length: 0 };
  let out: WriteStream;
  const writeManifest = () => {
    writeFileSync(`${manifest}.tmp`, JSON.stringify(committed));
    renameSync(`${manifest}.tmp`, manifest);
  };
  const commitUpTo = (id: number) => {
    for (const s of staged().filter((x) => x.epoch <= id)) appendFileSync(path, readFileSync(s.file));
    fsyncFile(path);
    committed = { epoch: Math.max(committed.epoch, id), length: statSync(path).size };
    writeManifest();
    for (const s of staged().filter((x) => x.epoch <= id)) rmSync(s.file);
  };
  const finish = () => new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  return {
    async open() {
      mkdirSync(dir, { recursive: true });
      if (resumeFrom === null || !existsSync(manifest)) {
        for (const s of staged()) rmSync(s.file);
        writeFileSync(path, '');
        committed = { epoch: -1, length: 0 };
        writeManifest();
      } else {
        committed = JSON.parse(readFileSync(manifest, 'utf8')) as typeof committed;
        truncateSync(path, committed.length);
        if (resumeFrom > committed.epoch) commitUpTo(resumeFrom);
        for (const s of staged().filter((x) => x.epoch > resumeFrom)) rmSync(s.file);
      }
      out = createWriteStream(open);
    },
    async write(batch: RecordBatch) {
      if (!out.write(toLines(batch))) await new Promise<void>((r) => out.once('drain', () => r()));
    },
    async preCommit(id: number) {
      await finish();
      fsyncFile(open);
      renameSync(open, `${path}.stage-${id}`);
      out = createWriteStream(open);
    },
    async commit(id: number) {
      if (id > committed.epoch) commitUpTo(id);
    },
    async close() {
      await finish();
      rmSync(open, { force: true });
    },
    async abort() {
      await finish().catch(() => undefined);
    },
  };
}
