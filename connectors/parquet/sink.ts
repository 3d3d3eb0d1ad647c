/**
 * `parquet` sink: writes rows into Parquet files in a directory (Flink's FileSink model). Rows collect in memory and
 * roll into a file when it reaches `rollBytes` of Arrow data or holds rows older than `rollInterval`, and at every
 * checkpoint. Files are written into `<dir>/.staging/` and made visible by an atomic rename once their checkpoint
 * completes (at the end of the run without checkpoints), so readers never see a partial file or rows of a
 * checkpoint that could still be replayed. A restart publishes files its checkpoint covers and deletes the rest.
 *
 * Arrow → Parquet is parquet-wasm (arrow-rs compiled to WebAssembly): the batches go in as Arrow IPC, no per-row work.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { RecordBatch, Table, tableToIPC } from 'apache-arrow';
import { defineSink, duration, lazyRequire, z } from '../../engine/api.js';

const parquetWasm = lazyRequire<typeof import('parquet-wasm/node')>(import.meta.url, 'parquet-wasm/node');
const COMPRESSION = { snappy: 'SNAPPY', zstd: 'ZSTD', gzip: 'GZIP', none: 'UNCOMPRESSED' } as const;

const config = z
  .object({
    path: z.string().min(1).describe('Directory of the Parquet files (created if missing).'),
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+$/)
      .optional()
      .describe('File name prefix (default: the sink id).'),
    rollBytes: z
      .number()
      .int()
      .min(1024)
      .default(128 << 20)
      .describe('Roll to a new file at about this many bytes of in-memory Arrow data.'),
    rollInterval: duration().optional().describe('Roll a file whose first row is older than this (checked as rows arrive), e.g. 5m.'),
    compression: z.enum(['snappy', 'zstd', 'gzip', 'none']).default('zstd').describe('Parquet compression codec.'),
    rowGroupSize: z
      .number()
      .int()
      .min(1024)
      .default(1 << 20)
      .describe('Rows per Parquet row group.'),
  })
  .strict();

/** `<prefix>-<run>-<epoch>-<n>.parquet`: the epoch tells a restart which staged files its checkpoint covers. */
const STAGED = /^(.+)-([a-z0-9]+)-(\d+)-(\d+)\.parquet$/;

function writeDurably(file: string, bytes: Uint8Array): void {
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export const parquet = defineSink({
  kind: 'parquet',
  summary: 'Writes rows into Parquet files in a directory, rolled by size or time, each made visible atomically when its checkpoint commits.',
  config,
  examples: [
    {
      title: 'Hourly-rolled Parquet files for a data lake',
      yaml: `id: lake\nkind: parquet\ninputs: [enrich]\nconfig:\n  path: out/payments-parquet\n  rollInterval: 1h\n  compression: zstd`,
    },
  ],
  display: (cfg) => ({ path: cfg.path, compression: cfg.compression }),
  resources: (cfg) => [{ kind: 'write', path: cfg.path, at: ['path'] }],
  create(cfg, ctx) {
    const prefix = cfg.prefix ?? ctx.nodeId;
    const staging = join(cfg.path, '.staging');
    const run = ctx.clock.now().toString(36);
    const lastComplete = ctx.checkpointing ? ctx.checkpointing.lastComplete : null;
    // Files are named by the checkpoint they belong to: this run's first is not always `lastComplete + 1`.
    let epoch = ctx.checkpointing?.firstId ?? 1;
    let files = 0;
    let buffered: RecordBatch[] = [];
    let bytes = 0;
    let firstRowAt = 0;
    const properties = () => {
      const { Compression, WriterPropertiesBuilder } = parquetWasm();
      return new WriterPropertiesBuilder().setCompression(Compression[COMPRESSION[cfg.compression]]).setMaxRowGroupSize(cfg.rowGroupSize).build();
    };

    /** Staged files of this sink, with the epoch each belongs to. */
    const staged = () =>
      readdirSync(staging)
        .map((name) => ({ name, m: STAGED.exec(name) }))
        .filter((f) => f.m && f.m[1] === prefix)
        .map((f) => ({ name: f.name, epoch: Number(f.m![3]) }));

    const roll = () => {
      if (!buffered.length) return;
      const ipc = tableToIPC(new Table(buffered), 'stream');
      const table = parquetWasm().Table.fromIPCStream(ipc);
      const out = parquetWasm().writeParquet(table, properties());
      writeDurably(join(staging, `${prefix}-${run}-${epoch}-${files++}.parquet`), out);
      buffered = [];
      bytes = 0;
    };

    const publishUpTo = (id: number) => {
      for (const f of staged()) if (f.epoch <= id) renameSync(join(staging, f.name), join(cfg.path, f.name));
    };

    return {
      async open() {
        mkdirSync(staging, { recursive: true });
        // What an earlier run staged: published if its checkpoint completed, else dropped (the replay rewrites it).
        if (lastComplete !== null) publishUpTo(lastComplete);
        for (const f of staged()) rmSync(join(staging, f.name));
      },
      write(batch) {
        if (!batch.numRows) return;
        if (!buffered.length) firstRowAt = ctx.clock.now();
        buffered.push(batch);
        bytes += batch.data.byteLength;
        if (bytes >= cfg.rollBytes || (cfg.rollInterval !== undefined && ctx.clock.now() - firstRowAt >= cfg.rollInterval)) roll();
      },
      async preCommit(id) {
        roll();
        epoch = id + 1;
      },
      async commit(id) {
        publishUpTo(id);
      },
      async close() {
        roll();
        // Without checkpoints the run is one epoch; with them the final checkpoint has published everything.
        if (!ctx.checkpointing) publishUpTo(epoch);
      },
      async abort() {
        buffered = [];
      },
    };
  },
});
