/**
 * `jsonl` source: newline-delimited JSON from a file or stdin (`path: "-"`). Declare the columns to read in `schema`
 * (recommended), or let abflow infer them from the first 20 480 lines of a file (DuckDB's `read_json` sample) when
 * the plan compiles; a column whose values disagree widens (integer → float → text), and text columns keep numbers and
 * booleans as their JSON text. Parsing runs
 * in the worker pool (`json_decode`); malformed lines become dead letters with their line numbers.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { AbflowError, type ColumnType, columnTypeSchema, defineSource, fieldsOf, schemaOf, z } from '../../engine/api.js';
import { inferType } from './json-values.js';
import { LINES_SCHEMA, type LinePosition, readLines } from './lines.js';

const config = z
  .object({
    path: z.string().min(1).describe('File to read, or "-" for standard input.'),
    schema: z.record(z.string(), columnTypeSchema).optional().describe('Columns: name → type. Required for stdin; inferred from the file otherwise.'),
    maxLineBytes: z
      .number()
      .int()
      .positive()
      .default(1 << 20)
      .describe('Longer lines are dead-lettered (default 1 MiB).'),
  })
  .strict();

/** Lines read to infer a schema: DuckDB's `read_json` default `sample_size`. */
const INFERENCE_LINES = 20_480;

async function inferSchema(path: string): Promise<Record<string, ColumnType>> {
  const samples = new Map<string, unknown[]>();
  const rl = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  let seen = 0;
  try {
    for await (const line of rl) {
      if (!line.trim()) continue;
      try {
        const obj = JSON.parse(seen === 0 ? line.replace(/^\uFEFF/, '') : line) as Record<string, unknown>;
        if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) continue;
        for (const [k, v] of Object.entries(obj)) (samples.get(k) ?? samples.set(k, []).get(k)!).push(v);
      } catch {
        // Malformed lines are the decoder's business at run time.
      }
      if (++seen >= INFERENCE_LINES) break;
    }
  } finally {
    rl.close();
  }
  if (!samples.size)
    throw new AbflowError('config', `cannot infer a schema: no JSON objects in the first lines of ${path}`, {
      path: ['schema'],
      hint: 'declare the columns: schema: { id: int64, name: string }',
    });
  return Object.fromEntries([...samples].map(([k, v]) => [k, inferType(v)]));
}

/** Declared or inferred schema; inference reads the file once per compile, so declare it for production plans. */
async function resolveSchema(cfg: z.output<typeof config>): Promise<Record<string, ColumnType>> {
  if (cfg.schema) return cfg.schema;
  if (cfg.path === '-')
    throw new AbflowError('config', 'reading stdin needs a declared `schema`', { path: ['schema'], hint: 'schema: { id: int64, name: string }' });
  try {
    return await inferSchema(cfg.path);
  } catch (e) {
    if (e instanceof AbflowError) throw e;
    throw new AbflowError('source_io', `cannot read ${cfg.path}: ${(e as Error).message}`, { path: ['path'] });
  }
}

export const jsonl = defineSource({
  kind: 'jsonl',
  summary: 'Reads newline-delimited JSON from a file or stdin; bad lines become dead letters.',
  config,
  examples: [
    {
      title: 'Orders from a file',
      yaml: `id: orders\nkind: jsonl\nconfig:\n  path: data/orders.jsonl\n  schema:\n    order_id: int64\n    amount: float64\n    created_at: timestamp`,
    },
  ],
  display: (cfg) => ({ path: cfg.path }),
  resources: (cfg) => (cfg.path === '-' ? [] : [{ kind: 'read', path: cfg.path, at: ['path'] }]),
  async outputSchemas(cfg) {
    return { out: schemaOf(await resolveSchema(cfg)) };
  },
  decoder: (cfg, outputs) => ({
    kind: 'json_decode',
    config: { schema: Object.fromEntries(fieldsOf(outputs.out!).map((f) => [f.name, f.type])), maxLineBytes: cfg.maxLineBytes },
    input: LINES_SCHEMA,
  }),
  create(cfg, ctx) {
    return {
      describePosition: (line) => `${cfg.path}:${line}`,
      read: (from) =>
        readLines(
          cfg.path,
          { batchSize: ctx.batchSize, lingerMs: ctx.lingerMs, clock: ctx.clock, maxLineBytes: cfg.maxLineBytes },
          from as LinePosition | undefined,
        ),
    };
  },
});
