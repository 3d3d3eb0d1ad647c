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
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { AbflowError, columnData, defineSink, fieldsOf, isValid, type RecordBatch, z } from '../../engine/api.js';
import { META } from './catalog.js';
import { connectorLog } from './log.js';
import { type Marker, withStats } from './messages.js';
import { InvalidMessage, parseMessage, streamKey } from './protocol.js';

const stream = z.union([z.string().min(1), z.object({ name: z.string().min(1), namespace: z.string().optional() }).strict()]);

const config = z
  .object({
    streams: z.array(stream).min(1).describe('The Airbyte stream of each input, in input order: a name, or {name, namespace}.'),
    path: z.string().default('-').describe('Where to write the messages: a file, or "-" for stdout (ignored with `command`).'),
    command: z.array(z.string()).min(1).optional().describe('A destination connector to run with `write`; messages go to its stdin.'),
    config: z.union([z.string(), z.record(z.string(), z.unknown())]).optional().describe('The destination connector config (file path or inline).'),
    catalog: z.string().optional().describe('Configured catalog file for the destination connector.'),
  })
  .strict();

type Config = z.output<typeof config>;

/** Serialises column `c` of row `i` as JSON text (JSON columns as they are). */
function valueJson(type: string, data: ReturnType<typeof columnData>, i: number): string {
  switch (type) {
    case 'string':
    case 'json': {
      const o = data.valueOffsets as Int32Array;
      const b = data.values as Uint8Array;
      const text = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8', o[i]!, o[i + 1]!);
      return type === 'json' ? text : JSON.stringify(text);
    }
    case 'bool': {
      const j = data.offset + i; // bool bits are not sliced with the data (see columnData)
      return (((data.values as Uint8Array)[j >> 3]! >> (j & 7)) & 1) === 1 ? 'true' : 'false';
    }
    case 'int64':
      return String((data.values as BigInt64Array)[i]);
    case 'timestamp':
      return JSON.stringify(new Date(Number((data.values as BigInt64Array)[i])).toISOString());
    case 'date':
      return JSON.stringify(new Date((data.values as Int32Array)[i]! * 86_400_000).toISOString().slice(0, 10));
    default: {
      const v = (data.values as Float64Array | Int32Array)[i]!;
      return Number.isFinite(v) ? String(v) : 'null';
    }
  }
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
  display: (cfg) => ({ streams: cfg.streams.map((s) => (typeof s === 'string' ? s : `${s.namespace ?? ''}.${s.name}`)).join(', '), to: cfg.command ? cfg.command.join(' ') : cfg.path }),
  check(cfg, inputs) {
    if (cfg.streams.length !== inputs.length)
      throw new AbflowError('config', `${inputs.length} input(s) but ${cfg.streams.length} stream name(s): give one stream per input, in order`, { path: ['streams'] });
    if (cfg.command && (!cfg.config || !cfg.catalog)) throw new AbflowError('config', 'a destination `command` needs its `config` and `catalog`', { path: ['command'] });
  },
  create(cfg, ctx) {
    const streams = cfg.streams.map((s) => (typeof s === 'string' ? { name: s } : s));
    const keys = streams.map((s) => streamKey(s.name, s.namespace));
    const layouts = ctx.inputs.map((schema) => {
      const fields = fieldsOf(schema).map((f, c) => ({ ...f, c }));
      const data = fields.filter((f) => !f.name.startsWith('_airbyte_') || f.name === '_airbyte_data');
      const find = (name: string) => fields.find((f) => f.name === name);
      return { data, extractedAt: find(META.extractedAt), meta: find(META.meta), whole: data.length === 1 && data[0]!.name === '_airbyte_data' };
    });
    const prefixes = streams.map((s) => `{"type":"RECORD","record":{"stream":${JSON.stringify(s.name)}${s.namespace !== undefined ? `,"namespace":${JSON.stringify(s.namespace)}` : ''},"data":`);
    let out: Writable;
    let child: ChildProcess | null = null;
    let childExit: Promise<void> | null = null;
    let workDir: string | null = null;
    // Rows delivered per stream since the last STATE, and output held back while a checkpoint is in flight (it
    // belongs after that checkpoint's STATEs, and counts towards the next ones).
    const delivered = new Map<string, number>();
    const deliver = (key: string, n: number) => delivered.set(key, (delivered.get(key) ?? 0) + n);
    let held: { text: string; key: string; rows: number }[] | null = null;

    const write = async (text: string) => {
      if (!out.write(text)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
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
          workDir = mkdtempSync(join(tmpdir(), 'abflow-airbyte-dest-'));
          const configPath = join(workDir, 'config.json');
          writeFileSync(configPath, typeof cfg.config === 'string' ? readFileSync(cfg.config, 'utf8') : JSON.stringify(cfg.config), { mode: 0o600 });
          const [cmd, ...rest] = cfg.command;
          const log = connectorLog(ctx.nodeId);
          child = spawn(cmd!, [...rest, 'write', '--config', configPath, '--catalog', cfg.catalog!], { stdio: ['pipe', 'pipe', 'pipe'] });
          let error: string | null = null;
          child.stdout!.setEncoding('utf8');
          let partial = '';
          child.stdout!.on('data', (s: string) => {
            const lines = (partial + s).split('\n');
            partial = lines.pop()!;
            for (const line of lines) {
              const m = line.trim() ? parseMessage(line) : null;
              if (!m || m instanceof InvalidMessage) continue;
              if (m.type === 'TRACE' && m.trace.type === 'ERROR') error ??= m.trace.error?.message ?? 'unknown error';
              else if (m.type === 'LOG') log(m.log.level, m.log.message);
              else if (m.type === 'STATE') log('DEBUG', `destination committed state: ${line}`);
            }
          });
          child.stderr!.setEncoding('utf8').on('data', (s: string) => s.split('\n').filter((l) => l.trim()).forEach((l) => log('INFO', l)));
          childExit = new Promise<void>((resolve, reject) => {
            child!.once('error', (e) => reject(new AbflowError('sink_io', `cannot run destination \`${cfg.command!.join(' ')}\`: ${e.message}`, { nodeId: ctx.nodeId })));
            child!.once('close', (code) => (code === 0 && !error ? resolve() : reject(new AbflowError('sink_io', `destination \`${cfg.command!.join(' ')}\` failed: ${error ?? `exit code ${code}`}`, { nodeId: ctx.nodeId, domain: 'external' }))));
          });
          childExit.catch(() => undefined);
          out = child.stdin!;
        } else if (cfg.path === '-') out = process.stdout;
        else {
          mkdirSync(dirname(cfg.path), { recursive: true });
          out = createWriteStream(cfg.path);
        }
      },
      async write(batch: RecordBatch, input: number) {
        const layout = layouts[input]!;
        const cols = layout.data.map((f) => ({ ...f, data: columnData(batch, f.c) }));
        const ext = layout.extractedAt ? columnData(batch, layout.extractedAt.c) : null;
        const meta = layout.meta ? columnData(batch, layout.meta.c) : null;
        const now = Date.now();
        let text = '';
        for (let i = 0; i < batch.numRows; i++) {
          let data: string;
          if (layout.whole) data = isValid(cols[0]!.data, i) ? valueJson('json', cols[0]!.data, i) : '{}';
          else {
            data = '{';
            let first = true;
            for (const col of cols) {
              if (!isValid(col.data, i)) continue;
              data += (first ? '' : ',') + JSON.stringify(col.name) + ':' + valueJson(col.type, col.data, i);
              first = false;
            }
            data += '}';
          }
          const emittedAt = ext && isValid(ext, i) ? Number((ext.values as BigInt64Array)[i]) : now;
          // Meta is passed on only when it records changes (the decoder writes it for every record).
          const metaText = meta && isValid(meta, i) ? valueJson('json', meta, i) : null;
          const changed = metaText !== null && !metaText.endsWith('"changes":[]}');
          text += `${prefixes[input]}${data},"emitted_at":${emittedAt}${changed ? `,"meta":${metaText}` : ''}}}\n`;
        }
        if (held) held.push({ text, key: keys[input]!, rows: batch.numRows });
        else {
          deliver(keys[input]!, batch.numRows);
          await write(text);
        }
      },
      async preCommit() {
        held ??= [];
      },
      async commit(_epoch: number, markers: readonly unknown[]) {
        let text = '';
        for (const m of markers as readonly Marker[]) text += (m.kind === 'state' ? stateText(m) : m.text) + '\n';
        const after = held ?? [];
        held = null;
        for (const h of after) deliver(h.key, h.rows);
        await write(text + after.map((h) => h.text).join(''));
      },
      async close() {
        if (held) await write(held.map((h) => h.text).join(''));
        held = null;
        if (out === process.stdout) return;
        await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
        await childExit;
        if (workDir) rmSync(workDir, { recursive: true, force: true });
      },
      async abort() {
        child?.kill('SIGTERM');
        if (out && out !== process.stdout) out.destroy();
        if (workDir) rmSync(workDir, { recursive: true, force: true });
      },
    };
  },
});
