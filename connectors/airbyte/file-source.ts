/**
 * `airbyte_file` source: replays a file of Airbyte messages (a recorded `read` output, or `-` for stdin) against a
 * catalog; each stream becomes an output named after it. Decoding runs in the worker pool (`airbyte_decode`).
 * The complete protocol — STATE as checkpoint barriers, running live connectors — is the `airbyte_source` work.
 */
import { defineSource, schemaOf, z } from '../../engine/api.js';
import { LINES_SCHEMA, type LinePosition, readLines } from '../jsonl/lines.js';
import { readCatalog } from './catalog.js';

const config = z
  .object({
    path: z.string().min(1).describe('File of AirbyteMessages, one per line, or "-" for stdin.'),
    catalog: z.string().min(1).describe('Catalog or configured catalog JSON giving the streams and their schemas.'),
    maxLineBytes: z.number().int().positive().default(16 << 20).describe('Longer lines are dead-lettered (default 16 MiB).'),
  })
  .strict();

export const airbyteFile = defineSource({
  kind: 'airbyte_file',
  summary: 'Replays a file of Airbyte messages; RECORDs become rows on one output per stream.',
  config,
  examples: [{ title: 'Replay a recorded sync', yaml: `id: faker\nkind: airbyte_file\nconfig:\n  path: recordings/faker.jsonl\n  catalog: recordings/catalog.json` }],
  display: (cfg) => ({ path: cfg.path, catalog: cfg.catalog }),
  ports: (cfg) => readCatalog(cfg.catalog).map((s) => s.port),
  outputSchemas: (cfg) => Object.fromEntries(readCatalog(cfg.catalog).map((s) => [s.port, schemaOf(s.columns)])),
  decoder: (cfg) => ({ kind: 'airbyte_decode', config: { streams: readCatalog(cfg.catalog).map((s) => ({ name: s.name, port: s.port, columns: s.columns })) }, input: LINES_SCHEMA }),
  create(cfg, ctx) {
    return {
      describePosition: (line) => `${cfg.path}:${line}`,
      read: (from) => readLines(cfg.path, { batchSize: ctx.batchSize, lingerMs: ctx.lingerMs, maxLineBytes: cfg.maxLineBytes }, from as LinePosition | undefined),
    };
  },
});
