/**
 * `airbyte_destination` sink: writes the plan's rows as Airbyte RECORD messages, to stdout or a file, or into a
 * spawned destination connector (`write --config --catalog`) — abflow between an Airbyte source and destination.
 * Each input is one stream. The STATE and stream-status messages of upstream Airbyte sources arrive with the
 * checkpoint that follows their records and are written once it is complete, so every STATE comes after all of its
 * records, in the order received, and before any record that followed it. A STATE is passed on as its original
 * text; only where the plan dropped or quarantined records of its interval are `sourceStats.recordCount` (records
 * delivered) and `rejectedRecordCount` rewritten, so the destination's record-count check still holds.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import { AbflowError, defineSink, type RecordBatch, z } from '../../engine/api.js';
import { connectorLog } from './log.js';
import { type Marker, withStats } from './messages.js';
import { InvalidMessage, parseMessage, streamKey } from './protocol.js';
import { RecordWriter } from './record-text.js';
import { type WorkDir, workDir } from './workdir.js';

const stream = z.union([z.string().min(1), z.object({ name: z.string().min(1), namespace: z.string().optional() }).strict()]);

const config = z
  .object({
    streams: z.array(stream).min(1).describe('The Airbyte stream of each input, in input order: a name, or {name, namespace}.'),
    path: z.string().default('-').describe('Where to write the messages: a file, or "-" for stdout (ignored with `command`).'),
    command: z.array(z.string()).min(1).optional().describe('A destination connector to run with `write`; messages go to its stdin.'),
    config: z
      .union([z.string(), z.record(z.string(), z.unknown())])
      .optional()
      .describe('The destination connector config (file path or inline).'),
    catalog: z.string().optional().describe('Configured catalog file for the destination connector.'),
  })
  .strict();

interface Row {
  readonly text: string;
  readonly key: string;
  readonly line: number;
}

export const airbyteDestination = defineSink({
  kind: 'airbyte_destination',
  summary: 'Writes rows as Airbyte RECORDs (stdout, a file, or a destination connector), with upstream STATEs in order.',
  config,
  inputs: { min: 1, max: 64 },
  examples: [
    { title: 'Enriched records and states to stdout', yaml: `id: out\nkind: airbyte_destination\ninputs: [enrich]\nconfig:\n  streams: [users]` },
    {
      title: 'Into a destination connector',
      yaml: `id: out\nkind: airbyte_destination\ninputs: [enrich]\nconfig:\n  streams: [users]\n  command: [docker, run, --rm, -i, -v, /tmp:/tmp, airbyte/destination-postgres]\n  config: secrets/pg.json\n  catalog: catalogs/pg-configured.json`,
    },
  ],
  display: (cfg) => ({
    streams: cfg.streams.map((s) => (typeof s === 'string' ? s : `${s.namespace ?? ''}.${s.name}`)).join(', '),
    to: cfg.command ? cfg.command.join(' ') : cfg.path,
  }),
  resources: (cfg) =>
    cfg.command
      ? [
          { kind: 'exec', argv: cfg.command, at: ['command'] },
          ...(typeof cfg.config === 'string' ? [{ kind: 'read' as const, path: cfg.config, at: ['config'] }] : []),
          ...(cfg.catalog ? [{ kind: 'read' as const, path: cfg.catalog, at: ['catalog'] }] : []),
        ]
      : cfg.path === '-'
        ? []
        : [{ kind: 'write', path: cfg.path, at: ['path'] }],
  check(cfg, inputs) {
    if (cfg.streams.length !== inputs.length)
      throw new AbflowError('config', `${inputs.length} input(s) but ${cfg.streams.length} stream name(s): give one stream per input, in order`, {
        path: ['streams'],
      });
    if (cfg.command && (!cfg.config || !cfg.catalog))
      throw new AbflowError('config', 'a destination `command` needs its `config` and `catalog`', { path: ['command'] });
  },
  readsSourceText: true,
  create(cfg, ctx) {
    const streams = cfg.streams.map((s) => (typeof s === 'string' ? { name: s } : s));
    const keys = streams.map((s) => streamKey(s.name, s.namespace));
    const writers = ctx.inputs.map((schema, i) => new RecordWriter(schema, streams[i]!));
    let out: Writable;
    let child: ChildProcess | null = null;
    let wd: WorkDir | null = null;
    /** Set once the destination connector failed (it exited, reported a TRACE error, or its stdin broke): every
     * later write and the close report it instead of writing into a dead pipe. */
    let failed: AbflowError | null = null;
    let exited: Promise<void> | null = null;
    /** Set once abflow closes the destination's stdin: only then may it exit. */
    let ending = false;
    // Rows delivered per stream since the last STATE of its scope.
    const delivered = new Map<string, number>();
    // With checkpoints, rows wait for the commit that carries the STATEs among them: a STATE must follow exactly the
    // records before it, and commits group many STATEs. Each row keeps its source line to be placed among them.
    // `open` is the current epoch's, `sealed` those of epochs whose barrier passed, oldest first.
    let open: Row[] = [];
    const sealed: { epoch: number; rows: Row[] }[] = [];

    const write = async (text: string) => {
      if (failed) throw failed;
      if (out.write(text)) return;
      // A destination that dies never drains its pipe: wait for whichever comes first.
      await new Promise<void>((resolve) => {
        out.once('drain', resolve);
        void exited?.then(resolve);
      });
      if (failed) throw failed;
    };

    const stateText = (m: Extract<Marker, { kind: 'state' }>): string => {
      const count = m.stream === null ? [...delivered.values()].reduce((a, b) => a + b, 0) : (delivered.get(m.stream) ?? 0);
      if (m.stream === null) delivered.clear();
      else delivered.delete(m.stream);
      if (count === m.recordCount) return m.text;
      return withStats(m, 'sourceStats', { recordCount: count, rejectedRecordCount: Math.max(0, m.recordCount - count) });
    };

    return {
      async open() {
        if (cfg.command) {
          wd = workDir({ 'config.json': typeof cfg.config === 'string' ? readFileSync(cfg.config, 'utf8') : JSON.stringify(cfg.config) });
          const [cmd, ...rest] = cfg.command;
          const name = cfg.command.join(' ');
          const log = connectorLog(ctx.nodeId);
          const c = spawn(cmd!, [...rest, 'write', '--config', wd.path('config.json'), '--catalog', cfg.catalog!], { stdio: ['pipe', 'pipe', 'pipe'] });
          child = c;
          let traceError: string | null = null;
          let stderrTail = '';
          const fail = (why: string) =>
            (failed ??= new AbflowError('sink_io', `destination \`${name}\` failed: ${why}`, { nodeId: ctx.nodeId, domain: 'external' }));
          c.stdout!.setEncoding('utf8');
          let partial = '';
          c.stdout!.on('data', (s: string) => {
            const lines = (partial + s).split('\n');
            partial = lines.pop()!;
            for (const line of lines) {
              const m = line.trim() ? parseMessage(line) : null;
              if (!m || m instanceof InvalidMessage) continue;
              if (m.type === 'TRACE' && m.trace.type === 'ERROR') traceError ??= m.trace.error?.message ?? 'unknown error';
              else if (m.type === 'LOG') log(m.log.level, m.log.message);
              else if (m.type === 'STATE') log('DEBUG', `destination committed state: ${line}`);
            }
          });
          c.stderr!.setEncoding('utf8').on('data', (s: string) => {
            stderrTail = (stderrTail + s).slice(-2000);
            s.split('\n')
              .filter((l) => l.trim())
              .forEach((l) => log('INFO', l));
          });
          // A broken pipe is how a dead destination shows first; its exit (below) says why.
          c.stdin!.on('error', () => undefined);
          exited = new Promise<void>((resolve) => {
            c.once('error', (e) => {
              fail(`cannot run it: ${e.message}`);
              resolve();
            });
            c.once('close', (code, signal) => {
              const tail = stderrTail.trim().split('\n').slice(-3).join(' | ');
              // Exiting before stdin was closed leaves messages unread, whatever the exit code.
              const early = !ending && code === 0 && !traceError ? 'it exited before reading every message' : null;
              if (code !== 0 || traceError || early)
                fail(`${traceError ?? early ?? 'it exited'} (${signal ? `signal ${signal}` : `exit code ${code}`})${tail ? `; stderr ends: ${tail}` : ''}`);
              resolve();
            });
          });
          out = c.stdin!;
        } else if (cfg.path === '-') out = process.stdout;
        else {
          mkdirSync(dirname(cfg.path), { recursive: true });
          out = createWriteStream(cfg.path);
        }
      },
      async write(batch: RecordBatch, input: number, positions?: Float64Array) {
        const lines = writers[input]!.lines(batch, ctx.clock.now());
        if (!ctx.checkpointing) {
          delivered.set(keys[input]!, (delivered.get(keys[input]!) ?? 0) + lines.length);
          return write(lines.join(''));
        }
        for (let i = 0; i < lines.length; i++) open.push({ text: lines[i]!, key: keys[input]!, line: positions?.[i] ?? -Infinity });
      },
      async preCommit(epoch: number) {
        sealed.push({ epoch, rows: open });
        open = [];
      },
      async commit(epoch: number, markers: readonly unknown[]) {
        // This commit covers its epoch and any older one (subsumed). Rows go in source order, each STATE and status
        // right after the last row that came before it; rows without a source line (computed by the plan) go first,
        // as they were produced before the barrier.
        const covered = sealed.findLastIndex((e) => e.epoch <= epoch) + 1;
        const rows = sealed.splice(0, covered).flatMap((e) => e.rows);
        rows.sort((a, b) => (a.line < b.line ? -1 : a.line > b.line ? 1 : 0));
        let text = '';
        let r = 0;
        const flushRows = (upTo: number) => {
          for (; r < rows.length && rows[r]!.line <= upTo; r++) {
            text += rows[r]!.text;
            delivered.set(rows[r]!.key, (delivered.get(rows[r]!.key) ?? 0) + 1);
          }
        };
        for (const m of markers as readonly Marker[]) {
          flushRows(m.line);
          text += (m.kind === 'state' ? stateText(m) : m.text) + '\n';
        }
        flushRows(Infinity);
        await write(text);
      },
      async close() {
        // Rows after the last checkpoint (a run without STATEs at its end).
        const rest = [...sealed.splice(0).flatMap((e) => e.rows), ...open];
        open = [];
        if (rest.length) await write(rest.map((row) => row.text).join(''));
        if (out === process.stdout) return;
        if (failed) throw failed;
        ending = true;
        await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e && !child ? reject(e) : resolve())));
        await exited;
        wd?.remove();
        if (failed) throw failed;
      },
      async abort() {
        child?.kill('SIGTERM');
        if (out && out !== process.stdout) out.destroy();
        wd?.remove();
      },
    };
  },
});
