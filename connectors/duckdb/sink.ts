/**
 * `duckdb` sink: writes into a table of an embedded DuckDB database file (abflow's default warehouse), in Airbyte's
 * sync modes (append, overwrite, append_dedup with CDC deletes). Rows are staged and committed with each checkpoint
 * (exactly once), or at the end of a run without checkpoints; the table is created from the input schema and evolved
 * when the input gains columns or wider types. Several sinks of one plan may share a database file.
 */
import { DuckDBAppender, DuckDBConnection, DuckDBDataChunk, DuckDBDateValue, DuckDBTimestampTZValue } from '@duckdb/node-api';
import { duckdbInstance } from './instance.js';
import { type ColumnType, columnData, defineSink, isValid, type RecordBatch, z } from '../../engine/api.js';
import { DUCKDB } from '../warehouse/sql.js';
import { checkTableMode, inTransaction, oneAtATime, stagedTableSink, tableModeConfig, type Warehouse, type WarehouseConnection } from '../warehouse/staged.js';

const config = z
  .object({
    path: z.string().min(1).describe('Database file (created if missing), e.g. out/payments.duckdb; ":memory:" for tests.'),
    ...tableModeConfig,
  })
  .strict();

const CHUNK = 2048; // DuckDB's standard vector size

/** Appends a batch through data chunks: one native call per 2048 rows per column instead of one per value. Two more
 * BIGINT columns take the staging table's checkpoint epoch and arrival sequence. */
function appendBatch(appender: DuckDBAppender, batch: RecordBatch, types: ColumnType[], epoch: number, firstSeq: number): void {
  const duckTypes = Array.from({ length: types.length + 2 }, (_, c) => appender.columnType(c));
  for (let start = 0; start < batch.numRows; start += CHUNK) {
    const n = Math.min(CHUNK, batch.numRows - start);
    const chunk = DuckDBDataChunk.create(duckTypes, n);
    types.forEach((type, c) => {
      const data = columnData(batch, c);
      const vec = chunk.getColumnVector(c) as unknown as { setItem(i: number, v: unknown): void; flush(): void };
      const values = data.values as ArrayLike<number | bigint>;
      const off = data.offset;
      for (let k = 0; k < n; k++) {
        const i = start + k;
        if (!isValid(data, i)) {
          vec.setItem(k, null);
          continue;
        }
        const j = off + i;
        switch (type) {
          case 'string':
          case 'json': {
            const o = data.valueOffsets as Int32Array;
            const b = data.values as Uint8Array;
            vec.setItem(k, Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8', o[j]!, o[j + 1]!));
            break;
          }
          case 'bool':
            vec.setItem(k, (((data.values as Uint8Array)[j >> 3]! >> (j & 7)) & 1) === 1);
            break;
          case 'int64':
            vec.setItem(k, values[j] as bigint);
            break;
          case 'timestamp':
            vec.setItem(k, new DuckDBTimestampTZValue((values[j] as bigint) * 1000n));
            break;
          case 'date':
            vec.setItem(k, new DuckDBDateValue(values[j] as number));
            break;
          default:
            vec.setItem(k, values[j]);
        }
      }
      vec.flush();
    });
    const epochs = chunk.getColumnVector(types.length) as unknown as { setItem(i: number, v: unknown): void; flush(): void };
    const seqs = chunk.getColumnVector(types.length + 1) as unknown as { setItem(i: number, v: unknown): void; flush(): void };
    for (let k = 0; k < n; k++) {
      epochs.setItem(k, BigInt(epoch));
      seqs.setItem(k, BigInt(firstSeq + start + k));
    }
    epochs.flush();
    seqs.flush();
    appender.appendDataChunk(chunk);
  }
}

function duckdbWarehouse(path: string): Warehouse {
  const instance = () => duckdbInstance(path);
  const wrap = (c: DuckDBConnection): WarehouseConnection => ({
    run: async (sql) => void (await c.run(sql)),
    rows: async (sql) => (await c.runAndReadAll(sql)).getRowObjects() as Record<string, unknown>[],
    close: async () => c.closeSync(),
  });
  return {
    dialect: DUCKDB,
    maxIdentifier: Infinity,
    connect: async () => wrap(await (await instance()).connect()),
    async loader(schema, stage, columns) {
      const conn = await (await instance()).connect();
      const appender = await conn.createAppender(stage, schema ?? null);
      const types = columns.slice(0, -2).map((c) => c.type);
      return {
        append: (batch, epoch, firstSeq) => appendBatch(appender, batch, types, epoch, firstSeq),
        flush: async () => appender.flushSync(),
        async close() {
          appender.closeSync();
          conn.closeSync();
        },
      };
    },
    transaction: inTransaction,
    serializeOpen: (f) => oneAtATime(`duckdb:${path}`, f),
  };
}

export const duckdb = defineSink({
  kind: 'duckdb',
  summary: 'Writes rows into a DuckDB table (embedded database file) in append, overwrite or append_dedup mode, exactly once.',
  config,
  examples: [
    { title: 'Large payments table', yaml: `id: large_out\nkind: duckdb\ninputs: [route.large]\nconfig:\n  path: out/payments.duckdb\n  table: large_payments` },
    {
      title: 'A CDC mirror: latest version per key, deletes applied',
      yaml: `id: mirror\nkind: duckdb\ninputs: [cdc.orders]\nconfig:\n  path: out/orders.duckdb\n  table: orders\n  mode: append_dedup\n  primaryKey: [id]\n  cursor: _ab_cdc_lsn`,
    },
  ],
  display: (cfg) => ({ path: cfg.path, table: cfg.schema ? `${cfg.schema}.${cfg.table}` : cfg.table, mode: cfg.mode }),
  check: (cfg, inputs) => checkTableMode(cfg, inputs[0]!),
  create: (cfg, ctx) =>
    stagedTableSink(cfg, duckdbWarehouse(cfg.path), { nodeId: ctx.nodeId, input: ctx.inputs[0]!, checkpointing: ctx.checkpointing}),
});
