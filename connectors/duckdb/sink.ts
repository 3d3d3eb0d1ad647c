/**
 * `duckdb` sink: writes into a table of an embedded DuckDB database file (abflow's default warehouse), in Airbyte's
 * sync modes (append, overwrite, append_dedup with CDC deletes). Rows are staged and committed with each checkpoint
 * (exactly once), or at the end of a run without checkpoints; the table is created from the input schema and evolved
 * when the input gains columns or wider types. Several sinks of one plan may share a database file.
 */
import type { DuckDBAppender, DuckDBConnection } from '@duckdb/node-api';
import { CHUNK_ROWS, encodeChunk } from './chunk.js';
import { type ColumnType, defineSink, duckdbConnect, type RecordBatch, z, quoteIdent } from '../../engine/api.js';
import { DUCKDB } from '../warehouse/sql.js';
import {
  checkTableMode,
  inTransaction,
  oneAtATime,
  scriptOrRollBack,
  stagedTableSink,
  tableModeConfig,
  type Warehouse,
  type WarehouseConnection,
} from '../warehouse/staged.js';

const config = z
  .object({
    path: z.string().min(1).describe('Database file (created if missing), e.g. out/payments.duckdb; ":memory:" for tests.'),
    ...tableModeConfig,
  })
  .strict();

/** Appends a batch as data chunks (see chunk.ts): one native copy per column per 2048 rows for fixed-width columns. */
function appendBatch(appender: DuckDBAppender, batch: RecordBatch, types: ColumnType[], tags?: { epoch: number; firstSeq: number }): void {
  const duckTypes = Array.from({ length: types.length + (tags ? 2 : 0) }, (_, c) => appender.columnType(c));
  for (let start = 0; start < batch.numRows; start += CHUNK_ROWS)
    appender.appendDataChunk(encodeChunk(duckTypes, batch, types, start, Math.min(CHUNK_ROWS, batch.numRows - start), tags));
}

class Connection implements WarehouseConnection {
  constructor(private readonly raw: DuckDBConnection) {}
  async run(sql: string): Promise<void> {
    await this.raw.run(sql);
  }
  async rows(sql: string): Promise<Record<string, unknown>[]> {
    return (await this.raw.runAndReadAll(sql)).getRowObjects() as Record<string, unknown>[];
  }
  async close(): Promise<void> {
    this.raw.closeSync();
  }
}

/** A connection that sees the in-memory database of transient stages (attached once per instance). */
async function connectTo(path: string): Promise<DuckDBConnection> {
  const conn = await duckdbConnect(path);
  await conn.run(`ATTACH IF NOT EXISTS ':memory:' AS ${quoteIdent(DUCKDB.transientStage.catalog!)}`);
  return conn;
}

function duckdbWarehouse(path: string): Warehouse {
  return {
    dialect: DUCKDB,
    maxIdentifier: Infinity,
    connect: async () => new Connection(await connectTo(path)),
    async loader(stage, columns) {
      const conn = await connectTo(path);
      const appender = await conn.createAppender(stage.table, stage.schema ?? null, stage.catalog ?? null);
      const types = columns.slice(0, -2).map((c) => c.type);
      return {
        append: (batch, epoch, firstSeq) => appendBatch(appender, batch, types, { epoch, firstSeq }),
        flush: async () => appender.flushSync(),
        async close() {
          appender.closeSync();
          conn.closeSync();
        },
      };
    },
    async directLoader(table, columns) {
      const raw = await connectTo(path);
      const conn = new Connection(raw);
      const types = columns.map((c) => c.type);
      let appender: DuckDBAppender | null = null;
      return {
        async begin(statements) {
          await scriptOrRollBack(conn, ['BEGIN', ...statements]);
          // After the statements: the first transaction of an `overwrite` run creates the table.
          appender ??= await raw.createAppender(table.table, table.schema ?? null, table.catalog ?? null);
        },
        append: (batch) => appendBatch(appender!, batch, types),
        flush: async () => appender?.flushSync(),
        commit: (statements) => scriptOrRollBack(conn, [...statements, 'COMMIT']),
        async close() {
          appender?.closeSync();
          // Closing the connection rolls back a transaction still open.
          await conn.close();
        },
      };
    },
    transaction: inTransaction,
    closing: 'CHECKPOINT',
    serializeOpen: (f) => oneAtATime(`duckdb:${path}`, f),
  };
}

export const duckdb = defineSink({
  kind: 'duckdb',
  summary: 'Writes rows into a DuckDB table (embedded database file) in append, overwrite or append_dedup mode, exactly once.',
  config,
  examples: [
    {
      title: 'Large payments table',
      yaml: `id: large_out\nkind: duckdb\ninputs: [route.large]\nconfig:\n  path: out/payments.duckdb\n  table: large_payments`,
    },
    {
      title: 'A CDC mirror: latest version per key, deletes applied',
      yaml: `id: mirror\nkind: duckdb\ninputs: [cdc.orders]\nconfig:\n  path: out/orders.duckdb\n  table: orders\n  mode: append_dedup\n  primaryKey: [id]\n  cursor: _ab_cdc_lsn`,
    },
  ],
  display: (cfg) => ({ path: cfg.path, table: cfg.schema ? `${cfg.schema}.${cfg.table}` : cfg.table, mode: cfg.mode }),
  resources: (cfg) => (cfg.path === ':memory:' ? [] : [{ kind: 'write', path: cfg.path, at: ['path'] }]),
  check: (cfg, inputs) => checkTableMode(cfg, inputs[0]!),
  create: (cfg, ctx) => stagedTableSink(cfg, duckdbWarehouse(cfg.path), { nodeId: ctx.nodeId, input: ctx.inputs[0]!, checkpointing: ctx.checkpointing }),
});
