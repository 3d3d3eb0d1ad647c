/**
 * `airbyte_file` source: Airbyte messages from a file (a recorded `read` output) or stdin (`-`, which is how
 * `abflow airbyte write` receives a sync as an Airbyte destination). Each stream of the catalog is an output port.
 * Every STATE is a checkpoint: sinks commit the records before it, and it travels on to `airbyte_destination`
 * sinks. With `echoStates`, each STATE is printed on stdout once its records are committed, with
 * `destinationStats.recordCount` — the Airbyte destination contract. A file resumes at the byte after the last
 * checkpoint.
 */
import { defineSource, z } from '../../engine/api.js';
import { type LinePosition, readLines } from '../jsonl/lines.js';
import { decoderFor, readCatalog, schemasOf } from './catalog.js';
import { groupCommit, groupCommitOptions, maxLineBytesOption, type Marker, MessageReader, recordStreamOf, type StateMarker, withStats } from './messages.js';
import { traceErrorLine } from './protocol.js';
import { connectorLog } from './log.js';

const config = z
  .object({
    path: z.string().min(1).describe('File of AirbyteMessages, one per line, or "-" for stdin.'),
    catalog: z.string().min(1).describe('Catalog or configured catalog JSON giving the streams and their schemas.'),
    ...maxLineBytesOption,
    echoStates: z
      .boolean()
      .default(false)
      .describe(
        'Act as an Airbyte destination: print each STATE on stdout once its records are committed, with destinationStats (records received, and rejected); report every rejected line as a TRACE error.',
      ),
    ...groupCommitOptions,
  })
  .strict();

export const airbyteFile = defineSource({
  kind: 'airbyte_file',
  summary: 'Reads Airbyte messages from a file or stdin; RECORDs become rows per stream, each STATE is a checkpoint.',
  config,
  examples: [
    { title: 'Replay a recorded sync', yaml: `id: faker\nkind: airbyte_file\nconfig:\n  path: recordings/faker.jsonl\n  catalog: recordings/catalog.json` },
  ],
  display: (cfg) => ({ path: cfg.path, catalog: cfg.catalog }),
  resources: (cfg) => [
    ...(cfg.path === '-' ? [] : [{ kind: 'read' as const, path: cfg.path, at: ['path'] }]),
    { kind: 'read', path: cfg.catalog, at: ['catalog'] },
  ],
  ports: (cfg) => readCatalog(cfg.catalog).map((s) => s.port),
  outputSchemas: (cfg) => schemasOf(readCatalog(cfg.catalog), false),
  decoder: (cfg, _outputs, opts) => decoderFor(readCatalog(cfg.catalog), cfg.maxLineBytes, opts.keepSourceText),
  drivesCheckpoints: true,
  create(cfg, ctx) {
    const pending: StateMarker[] = [];
    // Lines the decoder rejected, with the stream each was counted for (null: not a record of any stream), until
    // the STATE that covers them is echoed.
    let rejects: { line: number; stream: string | null }[] = [];
    const reader = new MessageReader({ log: connectorLog(ctx.nodeId) }, false, groupCommit(cfg, ctx.clock));
    const inspect: typeof reader.inspect = (buf, start, end, line) => {
      const control = reader.inspect(buf, start, end, line);
      const marker = control?.marker as Marker | undefined;
      if (cfg.echoStates && marker?.kind === 'state') pending.push(marker);
      return control;
    };
    /** The rejected records a STATE covers: those of its stream (of every stream for GLOBAL and LEGACY) not
     * covered by an earlier STATE. Lines that were no record count for no STREAM state, as they count towards no
     * stream's received records. */
    const rejectedFor = (m: StateMarker): number => {
      let n = 0;
      rejects = rejects.filter((r) => {
        if (r.line > m.line || (m.stream !== null && r.stream !== null && r.stream !== m.stream)) return true;
        if (m.stream === null || r.stream === m.stream) n++;
        return false;
      });
      return n;
    };
    return {
      describePosition: (line) => `${cfg.path}:${line}`,
      read: (from) =>
        readLines(
          cfg.path,
          { batchSize: ctx.batchSize, lingerMs: ctx.lingerMs, clock: ctx.clock, maxLineBytes: cfg.maxLineBytes, inspect },
          from as LinePosition | undefined,
        ),
      rejected(positions, reasons, raw) {
        if (!cfg.echoStates) return;
        let text = '';
        positions.forEach((line, i) => {
          rejects.push({ line, stream: recordStreamOf(raw[i]!) });
          text += traceErrorLine(`line ${line} was rejected (${reasons[i]}); it went to the dead-letter output`, 'system_error', ctx.clock.now()) + '\n';
        });
        process.stdout.write(text);
      },
      async committed(at) {
        const upTo = (at as LinePosition).line;
        let text = '';
        while (pending.length && pending[0]!.line <= upTo) {
          const m = pending.shift()!;
          const rejected = rejectedFor(m);
          text += withStats(m, 'destinationStats', { recordCount: m.recordCount, ...(rejected ? { rejectedRecordCount: rejected } : {}) }) + '\n';
        }
        if (text && !process.stdout.write(text)) await new Promise<void>((resolve) => process.stdout.once('drain', () => resolve()));
      },
    };
  },
});
