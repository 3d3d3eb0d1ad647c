/**
 * `postgres` sink: writes into a PostgreSQL table in Airbyte's sync modes (append, overwrite, append_dedup with CDC
 * deletes), exactly once. Rows are bulk-loaded with COPY into a staging table; each checkpoint's commit merges them
 * into the target table in one transaction that also records the commit (see ../warehouse/staged.ts). Connections
 * come from a small pool; transient failures (lost connections, deadlocks, serialization failures, a restarting
 * server) are retried with backoff, permanent ones fail the job with PostgreSQL's own message.
 */
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type pg from 'pg';
import {
  defineSink,
  lazyRequire,
  type RecordBatch,
  z,
  pgClientConfig,
  type PgConnectionConfig,
  pgConnectionConfig,
  describePgTarget,
  pgLib,
  type PgRetryPolicy,
  withPgRetry,
  quoteIdent,
} from '../../engine/api.js';
import { POSTGRES, tableRef } from '../warehouse/sql.js';
import {
  checkTableMode,
  inTransaction,
  oneAtATime,
  stagedTableSink,
  tableModeConfig,
  type StageLoader,
  type Warehouse,
  type WarehouseConnection,
} from '../warehouse/staged.js';
import { encodeCopyText, type EncodeStats } from './copy-text.js';

const copyStreams = lazyRequire<typeof import('pg-copy-streams')>(import.meta.url, 'pg-copy-streams');

const config = z
  .object({
    ...pgConnectionConfig,
    ...tableModeConfig,
    retries: z.number().int().min(1).max(20).default(5).describe('Attempts for a statement or COPY that fails transiently.'),
    copyChunkBytes: z
      .number()
      .int()
      .min(65536)
      .default(8 << 20)
      .describe('COPY statements are cut at about this many bytes; a failed one is resent whole.'),
  })
  .strict();

type Config = z.output<typeof config>;

/** A pooled client that replaces itself after a lost connection. */
class PooledConnection implements WarehouseConnection {
  constructor(
    private readonly pool: pg.Pool,
    private client: pg.PoolClient,
    private readonly onClose: () => Promise<void>,
  ) {}
  async run(sql: string): Promise<void> {
    await this.client.query(sql);
  }
  async rows(sql: string): Promise<Record<string, unknown>[]> {
    return (await this.client.query(sql)).rows as Record<string, unknown>[];
  }
  async reconnect(): Promise<void> {
    this.client.release(true);
    this.client = await this.pool.connect();
  }
  async copy(sql: string, text: string): Promise<void> {
    await pipeline(Readable.from([text]), this.client.query(copyStreams().from(sql)));
  }
  async close(): Promise<void> {
    this.client.release();
    await this.onClose();
  }
}

/** COPY in chunks of about `chunkBytes`, one in flight while the next fills (the engine waits when both are full). */
function copyLoader(conn: PooledConnection, table: string, columns: string, cfg: Config, policy: PgRetryPolicy): StageLoader {
  const stats: EncodeStats = { replacedNul: 0 };
  let parts: string[] = [];
  let bytes = 0;
  let firstSeq = -1;
  let lastSeq = -1;
  let inFlight: Promise<void> = Promise.resolve();

  const send = (text: string, from: number, to: number) =>
    withPgRetry(`COPY into ${table}`, policy, async (attempt) => {
      if (attempt > 1) {
        await conn.reconnect();
        // COPY is atomic: after a lost acknowledgement the rows are either all staged or not at all.
        const r = await conn.rows(`SELECT count(*)::int AS n FROM ${table} WHERE _abflow_seq BETWEEN ${from} AND ${to}`);
        if (Number(r[0]!.n) > 0) return;
      }
      await conn.copy(`COPY ${table} (${columns}) FROM STDIN`, text);
    });

  const cut = (): Promise<void> => {
    if (!parts.length) return inFlight;
    const text = parts.join('');
    const [from, to] = [firstSeq, lastSeq];
    parts = [];
    bytes = 0;
    firstSeq = -1;
    inFlight = inFlight.then(() => send(text, from, to));
    return inFlight;
  };

  return {
    append(batch: RecordBatch, epoch: number, seq: number) {
      if (batch.numRows === 0) return;
      const text = encodeCopyText(batch, epoch, seq, stats);
      parts.push(text);
      bytes += text.length;
      if (firstSeq < 0) firstSeq = seq;
      lastSeq = seq + batch.numRows - 1;
      if (bytes >= cfg.copyChunkBytes) {
        const previous = inFlight;
        cut();
        return previous; // backpressure: at most one chunk in flight and one filling
      }
    },
    async flush() {
      await cut();
    },
    async close() {
      await inFlight.catch(() => undefined);
      if (stats.replacedNul)
        process.stderr.write(`warning: postgres ${table}: ${stats.replacedNul} U+0000 characters (which PostgreSQL text cannot hold) were written as U+FFFD\n`);
      await conn.close();
    },
  };
}

function postgresWarehouse(cfg: Config, nodeId: string): Warehouse {
  const pool = new (pgLib().Pool)({ ...pgClientConfig(cfg, `abflow ${nodeId}`), max: 3 });
  // An idle pooled client that loses its connection must not take the process down; the next use reconnects.
  pool.on('error', () => undefined);
  const policy: PgRetryPolicy = { attempts: cfg.retries, baseMs: 200 };
  const where = describePgTarget(cfg);
  // The pool ends when the sink's last connection (the commit connection or the COPY loader) is closed.
  let open = 0;
  const onClose = async () => {
    if (--open === 0) await pool.end();
  };
  const connect = () =>
    withPgRetry(`connecting to ${where}`, policy, async () => {
      const c = new PooledConnection(pool, await pool.connect(), onClose);
      open++;
      return c;
    });
  return {
    dialect: POSTGRES,
    maxIdentifier: 63,
    connect,
    serializeOpen: (f) => oneAtATime(`postgres:${where}`, f),
    async loader(stage, columns) {
      return copyLoader(await connect(), tableRef(stage), columns.map((col) => quoteIdent(col.name)).join(', '), cfg, policy);
    },
    async transaction(conn, statements, needed) {
      await withPgRetry(`transaction on ${where}`, policy, async (attempt) => {
        if (attempt > 1) {
          await (conn as PooledConnection).reconnect();
          if (!(await needed())) return;
        }
        await inTransaction(conn, statements);
      });
    },
  };
}

export const postgres = defineSink({
  kind: 'postgres',
  summary: 'Writes rows into a PostgreSQL table (COPY, then a transactional merge per checkpoint) in append, overwrite or append_dedup mode, exactly once.',
  config,
  examples: [
    {
      title: 'A CDC mirror in PostgreSQL',
      yaml: `id: mirror\nkind: postgres\ninputs: [cdc.orders]\nconfig:\n  urlEnv: WAREHOUSE_URL\n  schema: analytics\n  table: orders\n  mode: append_dedup\n  primaryKey: [id]\n  cursor: _ab_cdc_lsn`,
    },
  ],
  display: (cfg) => ({ target: describePgTarget(cfg as PgConnectionConfig), table: cfg.schema ? `${cfg.schema}.${cfg.table}` : cfg.table, mode: cfg.mode }),
  check: (cfg, inputs) => checkTableMode(cfg, inputs[0]!),
  create: (cfg, ctx) =>
    stagedTableSink(cfg, postgresWarehouse(cfg, ctx.nodeId), { nodeId: ctx.nodeId, input: ctx.inputs[0]!, checkpointing: ctx.checkpointing }),
});
