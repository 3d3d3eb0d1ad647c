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
    schema: z.string().min(1).optional().describe('Database schema of the table (created if missing); default `main`.'),
    mode: z.enum(['overwrite', 'append']).default('overwrite').describe('`overwrite` replaces the table atomically at the end of the run; `append` adds rows.'),
    keepGenerationsFrom: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe("Airbyte refresh: once the run succeeds, delete rows whose `_airbyte_generation_id` is below this (the stream's minimum_generation_id)."),
  })
  .strict();

type Config = z.output<typeof config>;

/** The table's name as SQL, qualified with its schema. */
function tableSql(cfg: Config, name = cfg.table): string {
  return cfg.schema ? `${quoteIdent(cfg.schema)}.${quoteIdent(name)}` : quoteIdent(name);
}

async function createSchema(conn: DuckDBConnection, cfg: Config): Promise<void> {
  if (cfg.schema) await conn.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(cfg.schema)}`);
}

/** Airbyte's end-of-sync truncation for refreshes: only rows of the current generations stay. */
async function dropOldGenerations(conn: DuckDBConnection, cfg: Config): Promise<void> {
  if (cfg.keepGenerationsFrom === undefined) return;
  await conn.run(`DELETE FROM ${tableSql(cfg)} WHERE _airbyte_generation_id IS NULL OR _airbyte_generation_id < ${cfg.keepGenerationsFrom}`);
}

const SQL_TYPES: Record<ColumnType, string> = {
  bool: 'BOOLEAN',
  int32: 'INTEGER',
  int64: 'BIGINT',
  float64: 'DOUBLE',
  string: 'VARCHAR',
  json: 'JSON',
  timestamp: 'TIMESTAMPTZ',
  date: 'DATE',
};

export function quoteIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

/** `table` is already quoted (and qualified). */
export function createTableSql(table: string, schema: Schema, mode: 'overwrite' | 'append'): string {
  const cols = fieldsOf(schema).map((f) => `${quoteIdent(f.name)} ${SQL_TYPES[f.type]}`).join(', ');
  return `${mode === 'overwrite' ? 'CREATE OR REPLACE TABLE' : 'CREATE TABLE IF NOT EXISTS'} ${table} (${cols})`;
}

const CHUNK = 2048; // DuckDB's standard vector size

/** Sinks of one plan may share a database file, and DuckDB's optimistic concurrency makes two connections creating
 * the same catalog entry at once (`_abflow_commits`) fail with a write-write conflict: their opens take turns. */
const opening = new Map<string, Promise<unknown>>();
function oneAtATime<T>(path: string, f: () => Promise<T>): Promise<T> {
  const next = (opening.get(path) ?? Promise.resolve()).then(f);
  opening.set(path, next.catch(() => undefined));
  return next;
}

/** Appends a batch through data chunks: one native call per 2048 rows per column instead of one per value.
 * `epoch`, when given, fills one more BIGINT column (the staging table's checkpoint epoch). */
function appendBatch(appender: DuckDBAppender, batch: RecordBatch, types: ColumnType[], epoch?: number): void {
  const duckTypes = Array.from({ length: types.length + (epoch === undefined ? 0 : 1) }, (_, c) => appender.columnType(c));
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
    if (epoch !== undefined) {
      const vec = chunk.getColumnVector(types.length) as unknown as { setItem(i: number, v: unknown): void; flush(): void };
      for (let k = 0; k < n; k++) vec.setItem(k, BigInt(epoch));
      vec.flush();
    }
    appender.appendDataChunk(chunk);
  }
}

export const duckdb = defineSink({
  kind: 'duckdb',
  summary: 'Writes rows into a DuckDB table (embedded database file), committed atomically when the run ends.',
  config,
  examples: [{ title: 'Large payments table', yaml: `id: large_out\nkind: duckdb\ninputs: [route.large]\nconfig:\n  path: out/payments.duckdb\n  table: large_payments` }],
  display: (cfg) => ({ path: cfg.path, table: cfg.schema ? `${cfg.schema}.${cfg.table}` : cfg.table, mode: cfg.mode }),
  create(cfg, ctx) {
    if (ctx.checkpointing) return exactlyOnce(cfg, ctx.nodeId, ctx.inputs[0]!, ctx.checkpointing.resumeFrom);
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
        await createSchema(conn, cfg);
        await conn.run(createTableSql(tableSql(cfg), schema, cfg.mode));
        appender = await conn.createAppender(cfg.table, cfg.schema ?? null);
      },
      write(batch) {
        appendBatch(appender!, batch, types);
      },
      async close() {
        appender!.closeSync();
        await dropOldGenerations(conn!, cfg);
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

/**
 * The exactly-once variant, used when the job takes checkpoints (two-phase commit). Rows are appended to a staging
 * table tagged with their checkpoint epoch; on a barrier the appender is flushed (staged rows are durable); when the
 * checkpoint is complete, one transaction moves the epoch's rows into the target table and records the commit in
 * `_abflow_commits`. On restart the sink finishes a commit the crash interrupted and drops rows staged after the
 * checkpoint it resumes from (the replay produces them again), so nothing is lost and nothing appears twice.
 */
function exactlyOnce(cfg: Config, nodeId: string, schema: Schema, resumeFrom: number | null) {
  const types = fieldsOf(schema).map((f) => f.type);
  const stage = `_abflow_stage_${cfg.table}`;
  const cols = fieldsOf(schema).map((f) => quoteIdent(f.name)).join(', ');
  let conn: DuckDBConnection | null = null;
  let commitConn: DuckDBConnection | null = null;
  let appender: DuckDBAppender | null = null;
  let epoch = (resumeFrom ?? 0) + 1;
  let committed = -1;

  const commitUpTo = async (id: number) => {
    if (id <= committed) return;
    const c = commitConn!;
    await c.run('BEGIN TRANSACTION');
    try {
      await c.run(`INSERT INTO ${tableSql(cfg)} (${cols}) SELECT ${cols} FROM ${tableSql(cfg, stage)} WHERE _abflow_epoch <= ${id}`);
      await c.run(`DELETE FROM ${tableSql(cfg, stage)} WHERE _abflow_epoch <= ${id}`);
      await c.run('INSERT INTO _abflow_commits VALUES ($1, $2)', [nodeId, id]);
      await c.run('COMMIT');
    } catch (e) {
      await c.run('ROLLBACK').catch(() => undefined);
      throw e;
    }
    committed = id;
  };

  return {
    open: () => oneAtATime(cfg.path, async () => {
      if (cfg.path !== ':memory:') mkdirSync(dirname(cfg.path), { recursive: true });
      const db = await DuckDBInstance.fromCache(cfg.path);
      conn = await db.connect();
      commitConn = await db.connect();
      await conn.run('CREATE TABLE IF NOT EXISTS _abflow_commits (sink VARCHAR, epoch BIGINT)');
      const stageCols = fieldsOf(schema).map((f) => `${quoteIdent(f.name)} ${SQL_TYPES[f.type]}`).join(', ');
      await createSchema(conn, cfg);
      await conn.run(`CREATE TABLE IF NOT EXISTS ${tableSql(cfg, stage)} (${stageCols}, _abflow_epoch BIGINT)`);
      const r = await conn.runAndReadAll('SELECT coalesce(max(epoch), -1)::DOUBLE AS e FROM _abflow_commits WHERE sink = $1', [nodeId]);
      committed = Number((r.getRowObjects()[0] as { e: number }).e);
      if (resumeFrom === null) {
        // A fresh run: nothing staged or committed before counts.
        await conn.run(`DELETE FROM ${tableSql(cfg, stage)}`);
        await conn.run('DELETE FROM _abflow_commits WHERE sink = $1', [nodeId]);
        committed = -1;
        await conn.run(createTableSql(tableSql(cfg), schema, cfg.mode));
      } else {
        await conn.run(createTableSql(tableSql(cfg), schema, 'append'));
        await commitUpTo(resumeFrom); // a commit the crash may have interrupted
        await conn.run(`DELETE FROM ${tableSql(cfg, stage)} WHERE _abflow_epoch > ${resumeFrom}`);
      }
      appender = await conn.createAppender(stage, cfg.schema ?? null);
    }),
    write(batch: RecordBatch) {
      appendBatch(appender!, batch, types, epoch);
    },
    async preCommit(id: number) {
      appender!.flushSync();
      epoch = id + 1;
    },
    async commit(id: number) {
      await commitUpTo(id);
    },
    async close() {
      appender!.closeSync();
      await dropOldGenerations(conn!, cfg);
      await conn!.run('CHECKPOINT').catch(() => undefined);
      conn!.closeSync();
      commitConn!.closeSync();
    },
    async abort() {
      try {
        appender?.closeSync();
      } catch {
        // Staged rows of an unfinished epoch are dropped on the next start.
      }
      conn?.closeSync();
      commitConn?.closeSync();
    },
  };
}
