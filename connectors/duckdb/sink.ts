/**
 * `duckdb` sink: writes into a table of an embedded DuckDB database file (abflow's default warehouse). The table is
 * created from the Arrow schema; rows are appended through DuckDB data chunks inside one transaction per run that
 * commits when the sink closes, so a failed run leaves the previous table untouched (`overwrite`) or unchanged
 * (`append`). Several sinks of one plan may share a database file.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  DuckDBAppender,
  DuckDBConnection,
  DuckDBDataChunk,
  DuckDBDateValue,
  DuckDBInstance,
  DuckDBTimestampTZValue,
} from '@duckdb/node-api';
import { type ColumnType, columnData, defineSink, fieldsOf, isValid, type RecordBatch, type Schema, z } from '../../engine/api.js';

const config = z
  .object({
    path: z.string().min(1).describe('Database file (created if missing), e.g. out/payments.duckdb; ":memory:" for tests.'),
    table: z.string().min(1).describe('Table name (any characters; it is quoted).'),
    mode: z.enum(['overwrite', 'append']).default('overwrite').describe('`overwrite` replaces the table atomically at the end of the run; `append` adds rows.'),
  })
  .strict();

const SQL_TYPES: Record<ColumnType, string> = {
  bool: 'BOOLEAN',
  int32: 'INTEGER',
  int64: 'BIGINT',
  float64: 'DOUBLE',
  string: 'VARCHAR',
  timestamp: 'TIMESTAMPTZ',
  date: 'DATE',
};

export function quoteIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

export function createTableSql(table: string, schema: Schema, mode: 'overwrite' | 'append'): string {
  const cols = fieldsOf(schema).map((f) => `${quoteIdent(f.name)} ${SQL_TYPES[f.type]}`).join(', ');
  return `${mode === 'overwrite' ? 'CREATE OR REPLACE TABLE' : 'CREATE TABLE IF NOT EXISTS'} ${quoteIdent(table)} (${cols})`;
}

const CHUNK = 2048; // DuckDB's standard vector size

/** Appends a batch through data chunks: one native call per 2048 rows per column instead of one per value. */
function appendBatch(appender: DuckDBAppender, batch: RecordBatch, types: ColumnType[]): void {
  const duckTypes = types.map((_, c) => appender.columnType(c));
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
          case 'string': {
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
    appender.appendDataChunk(chunk);
  }
}

export const duckdb = defineSink({
  kind: 'duckdb',
  summary: 'Writes rows into a DuckDB table (embedded database file), committed atomically when the run ends.',
  config,
  examples: [{ title: 'Large payments table', yaml: `id: large_out\nkind: duckdb\ninputs: [route.large]\nconfig:\n  path: out/payments.duckdb\n  table: large_payments` }],
  display: (cfg) => ({ path: cfg.path, table: cfg.table, mode: cfg.mode }),
  create(cfg, ctx) {
    const schema = ctx.inputs[0]!;
    const types = fieldsOf(schema).map((f) => f.type);
    let conn: DuckDBConnection | null = null;
    let appender: DuckDBAppender | null = null;
    return {
      async open() {
        if (cfg.path !== ':memory:') mkdirSync(dirname(cfg.path), { recursive: true });
        const db = await DuckDBInstance.fromCache(cfg.path);
        conn = await db.connect();
        await conn.run('BEGIN TRANSACTION');
        await conn.run(createTableSql(cfg.table, schema, cfg.mode));
        appender = await conn.createAppender(cfg.table);
      },
      write(batch) {
        appendBatch(appender!, batch, types);
      },
      async close() {
        appender!.closeSync();
        await conn!.run('COMMIT');
        // Fold the WAL into the database file so other tools see one file. Sinks sharing the file may still be
        // writing; then their own close checkpoints later, so a refusal here is expected and harmless.
        await conn!.run('CHECKPOINT').catch(() => undefined);
        conn!.closeSync();
      },
      async abort() {
        try {
          appender?.closeSync();
        } catch {
          // The transaction is rolled back below either way.
        }
        await conn?.run('ROLLBACK').catch(() => undefined);
        conn?.closeSync();
      },
    };
  },
});
