/**
 * The write path both warehouse sinks share: rows are bulk-loaded into a staging table tagged with their checkpoint
 * epoch and arrival sequence; a commit moves the staged rows of finished epochs into the target table in one
 * transaction that also records the commit in `_abflow_commits`. A restart finishes a commit the crash interrupted
 * and drops rows staged after the checkpoint it resumes from (the replay produces them again): exactly once.
 * Without checkpoints the whole run is one epoch committed at close, so a failed run changes nothing.
 *
 * The stage must survive a crash only when the job resumes from persisted checkpoints (a checkpoint can be durable
 * while its commit has not run yet). Otherwise (commit points only, as with Airbyte STATEs, or no checkpoints) a
 * crash restarts the input from its last commit, and the stage is a transient table that skips the write-ahead log:
 * in DuckDB that halves the sink's work (native-bench "a": the durable stage doubled every row's WAL traffic).
 *
 * When nothing needs the stage (not durable, no merge, no cast) and the warehouse offers it, rows skip it and go
 * straight into the target inside the transaction that commits them (direct.ts): one write of every row instead of
 * two.
 *
 * Only the bulk load and the connection are dialect-specific (`Warehouse`).
 */
import { createHash } from 'node:crypto';
import { AbflowError, type ColumnType, fieldsOf, quoteIdent, quoteLiteral, type RecordBatch, type Schema, type SinkContext, z } from '../../engine/api.js';
import { EpochTransactions, type TransactionLoader } from './direct.js';
import {
  type Column,
  type CommitShape,
  commitStatements,
  createTableSql,
  type Dialect,
  EPOCH_COLUMN,
  evolve,
  SEQ_COLUMN,
  stagedRows,
  type EpochRange,
  type TableLocation,
  tableRef,
  tombstoneColumns,
} from './sql.js';

export interface WarehouseConnection {
  run(sql: string): Promise<void>;
  rows(sql: string): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

/** Appends batches to the staging table; `flush` returns once everything appended is durable. */
export interface StageLoader {
  append(batch: RecordBatch, epoch: number, firstSeq: number): void | Promise<void>;
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface Warehouse {
  readonly dialect: Dialect;
  /** Identifier length limit (PostgreSQL truncates longer names). */
  readonly maxIdentifier: number;
  connect(): Promise<WarehouseConnection>;
  /** A loader into `stage`, on a connection of its own: it stages later epochs while a commit runs. */
  loader(stage: TableLocation, columns: readonly Column[]): Promise<StageLoader>;
  /** A loader appending straight into `table` inside transactions of a connection of its own (direct.ts), for the
   * runs that need no stage. PostgreSQL has none yet: its commits retry, and a retried transaction would have to
   * COPY its rows again. */
  directLoader?(table: TableLocation, columns: readonly Column[]): Promise<TransactionLoader>;
  /** Runs `statements` in one transaction on `conn`, retrying transient failures (PostgreSQL; a retry first asks
   * `needed`, as a lost acknowledgement may hide a commit that happened); DuckDB runs them once. */
  transaction(conn: WarehouseConnection, statements: readonly string[], needed: () => Promise<boolean>): Promise<void>;
  /** Run when a sink closes after a clean run (DuckDB: `CHECKPOINT`, so the database file alone holds the rows). */
  readonly closing?: string;
  /** Serializes catalog changes of sinks sharing one database (DuckDB's optimistic concurrency). */
  readonly serializeOpen?: <T>(f: () => Promise<T>) => Promise<T>;
}

/** BEGIN … COMMIT around `statements`, rolled back when one fails (a warehouse's `transaction` adds retries around
 * it). */
export function inTransaction(conn: WarehouseConnection, statements: readonly string[]): Promise<void> {
  return scriptOrRollBack(conn, ['BEGIN', ...statements, 'COMMIT']);
}

/** `statements` of an open (or opening) transaction as one script, rolled back when one fails. One script: each
 * round trip waits for the coordinating thread's event loop, which the sink's own bulk loads keep busy, so six
 * statements sent one by one took several times as long as the work (native-bench a). */
export async function scriptOrRollBack(conn: WarehouseConnection, statements: readonly string[]): Promise<void> {
  try {
    await conn.run(statements.join(';\n'));
  } catch (e) {
    await conn.run('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

/** Sinks of one plan may share a database, and creating the same catalog entry (a schema, `_abflow_commits`) from
 * two connections at once fails (DuckDB: a write-write conflict; PostgreSQL: a unique violation in its catalog):
 * their opens take turns, per database. */
const opening = new Map<string, Promise<unknown>>();
export function oneAtATime<T>(database: string, f: () => Promise<T>): Promise<T> {
  const next = (opening.get(database) ?? Promise.resolve()).then(f);
  opening.set(
    database,
    next.catch(() => undefined),
  );
  return next;
}

/** The sync-mode part of a warehouse sink's config (the same for duckdb and postgres). */
export const tableModeConfig = {
  table: z.string().min(1).describe('Table name (any characters; it is quoted).'),
  schema: z.string().min(1).optional().describe('Database schema of the table (created if missing); default `main` (DuckDB) or `public` (PostgreSQL).'),
  mode: z
    .enum(['overwrite', 'append', 'append_dedup'])
    .default('overwrite')
    .describe(
      "`overwrite` replaces the table at the run's first commit; `append` adds rows; `append_dedup` keeps the latest version per primary key (Airbyte's incremental dedup).",
    ),
  primaryKey: z.array(z.string().min(1)).min(1).optional().describe('Key columns for `append_dedup` (composite keys allowed; null values match each other).'),
  cursor: z
    .string()
    .min(1)
    .optional()
    .describe('For `append_dedup`: the column ordering versions of a key (latest wins); without it, `_airbyte_extracted_at` and then arrival order decide.'),
  deletedAt: z
    .string()
    .min(1)
    .default('_ab_cdc_deleted_at')
    .describe('For `append_dedup`: a version with this column set deletes the key (CDC deletes), when the input has the column.'),
  keepGenerationsFrom: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe("Airbyte refresh: once the run succeeds, delete rows whose `_airbyte_generation_id` is below this (the stream's minimum_generation_id)."),
};

export interface TableModeConfig {
  table: string;
  schema?: string | undefined;
  mode: 'overwrite' | 'append' | 'append_dedup';
  primaryKey?: string[] | undefined;
  cursor?: string | undefined;
  deletedAt: string;
  keepGenerationsFrom?: number | undefined;
}

/** Compile-time check: dedup needs a key, and every named column must exist in the input. */
export function checkTableMode(cfg: TableModeConfig, input: Schema): void {
  const names = new Set(input.fields.map((f) => f.name));
  if (cfg.mode === 'append_dedup' && !cfg.primaryKey)
    throw new AbflowError('config', 'mode append_dedup needs primaryKey', { path: ['primaryKey'], hint: 'e.g. primaryKey: [id]' });
  if (cfg.mode !== 'append_dedup' && (cfg.primaryKey || cfg.cursor))
    throw new AbflowError('config', `primaryKey and cursor apply to mode append_dedup only (mode is ${cfg.mode})`, {
      path: [cfg.primaryKey ? 'primaryKey' : 'cursor'],
    });
  (cfg.primaryKey ?? []).forEach((k, i) => {
    if (!names.has(k)) throw new AbflowError('config', `primary key column "${k}" is not in the input (${[...names].join(', ')})`, { path: ['primaryKey', i] });
  });
  if (cfg.cursor && !names.has(cfg.cursor))
    throw new AbflowError('config', `cursor column "${cfg.cursor}" is not in the input (${[...names].join(', ')})`, { path: ['cursor'] });
  if (cfg.keepGenerationsFrom !== undefined && !names.has('_airbyte_generation_id'))
    throw new AbflowError('config', 'keepGenerationsFrom needs an `_airbyte_generation_id` input column', { path: ['keepGenerationsFrom'] });
}

/** A helper table's name: readable, unique per target, within the identifier limit. */
function helperName(prefix: string, table: string, max: number): string {
  const name = `${prefix}${table}`;
  if (Buffer.byteLength(name) <= max) return name;
  const hash = createHash('sha256').update(table).digest('hex').slice(0, 10);
  let head = table;
  while (Buffer.byteLength(`${prefix}${head}_${hash}`) > max) head = head.slice(0, -1);
  return `${prefix}${head}_${hash}`;
}

/** Where a sink's rows go until their commit: the stage, or the target itself (direct.ts). */
interface RowWriter {
  write(batch: RecordBatch): void | Promise<void>;
  /** Barrier `id`: everything written so far belongs to epoch `id` or older. */
  preCommit(id: number): Promise<void>;
  commit(id: number, cleanup?: string[]): Promise<void>;
  close(): Promise<void>;
  abort(): Promise<void>;
}

/** Rows a direct writer holds or queues before the engine waits (about 100 MB of typical Airbyte records). */
const MAX_PENDING_ROWS = 1 << 18;

export interface StagedSinkOptions {
  readonly nodeId: string;
  readonly input: Schema;
  /** Set when the job checkpoints (see SinkContext.checkpointing). */
  readonly checkpointing?: SinkContext['checkpointing'];
}

export function stagedTableSink(cfg: TableModeConfig, wh: Warehouse, opts: StagedSinkOptions) {
  const { dialect } = wh;
  const inputCols: Column[] = fieldsOf(opts.input);
  const q = (name: string) => (cfg.schema ? `${quoteIdent(cfg.schema)}.${quoteIdent(name)}` : quoteIdent(name));
  const target = q(cfg.table);
  const stageName = helperName('_abflow_stage_', cfg.table, wh.maxIdentifier);
  const transient = !opts.checkpointing?.durable;
  // A transient stage in a database of its own sits in a schema named like the target's.
  const stageAt: TableLocation =
    transient && dialect.transientStage.catalog
      ? { catalog: dialect.transientStage.catalog, schema: cfg.schema ?? dialect.transientStage.schema, table: stageName }
      : { schema: cfg.schema, table: stageName };
  const stage = tableRef(stageAt);
  const tombstoneName = helperName('_abflow_deleted_', cfg.table, wh.maxIdentifier);
  const tombstones = q(tombstoneName);
  const commits = q('_abflow_commits');
  const resumeFrom = opts.checkpointing ? opts.checkpointing.resumeFrom : null;
  const lastComplete = opts.checkpointing ? opts.checkpointing.lastComplete : null;
  const has = (n: string) => inputCols.some((c) => c.name === n);
  const dedup =
    cfg.mode === 'append_dedup'
      ? {
          primaryKey: cfg.primaryKey!,
          ...(cfg.cursor ? { cursor: cfg.cursor } : {}),
          ...(has('_airbyte_extracted_at') && cfg.cursor !== '_airbyte_extracted_at' ? { extractedAt: '_airbyte_extracted_at' } : {}),
          ...(has(cfg.deletedAt) ? { deletedAt: cfg.deletedAt } : {}),
          ...(has('_ab_cdc_truncated_at') && has('_ab_cdc_lsn') ? { truncatedAt: '_ab_cdc_truncated_at' } : {}),
        }
      : undefined;

  let conn: WarehouseConnection | null = null;
  let writer: RowWriter | null = null;
  let shape: CommitShape | null = null;
  let tableColumns: Column[] = [];
  // Staged rows carry the checkpoint they belong to: this run's first is not always `lastComplete + 1`.
  let epoch = opts.checkpointing?.firstId ?? 1;
  let committed = -1;
  /** An `overwrite` run replaces the table in its first commit, so a run that fails before that leaves it as it was. */
  let replacePending = false;

  // The engine names the sink and its kind; the message adds the table and the step.
  const fail = (what: string, e: unknown): never => {
    if (e instanceof AbflowError) throw e;
    throw new Error(`table ${cfg.schema ? cfg.schema + '.' : ''}${cfg.table}: ${what} failed: ${(e as Error).message}`, { cause: e });
  };

  async function catalogColumns(table: string): Promise<{ name: string; type: ColumnType | undefined }[] | null> {
    const schemaFilter = cfg.schema ? quoteLiteral(cfg.schema) : 'current_schema()';
    const rows = await conn!.rows(
      `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = ${schemaFilter} AND table_name = ${quoteLiteral(table)} ORDER BY ordinal_position`,
    );
    if (rows.length === 0) return null;
    return rows.map((r) => ({ name: String(r.column_name), type: dialect.columnType(String(r.data_type)) }));
  }

  function shapeFor(columns: readonly Column[], stageCols: readonly Column[]): CommitShape {
    const types = new Map(columns.map((c) => [c.name, c.type]));
    return {
      dialect,
      target,
      stage,
      tombstones,
      batch: '_abflow_batch',
      input: stageCols.map((c) => ({ name: c.name, from: c.type, to: types.get(c.name) ?? c.type })),
      ...(dedup ? { dedup } : {}),
    };
  }

  /** DDL creating `table` with `columns`, or evolving it to take them; returns the table's resulting columns. */
  async function ensureTable(name: string, table: string, columns: Column[], replace: boolean, ddl: string[]): Promise<Column[]> {
    const existing = replace ? null : await catalogColumns(name);
    if (!existing) {
      if (replace) ddl.push(`DROP TABLE IF EXISTS ${table}`);
      ddl.push(createTableSql(dialect, table, columns, !replace));
      return columns;
    }
    const ev = evolve(existing, columns);
    for (const c of ev.add) ddl.push(`ALTER TABLE ${table} ADD COLUMN ${quoteIdent(c.name)} ${dialect.types[c.type]}`);
    for (const c of ev.widen) ddl.push(dialect.alterType(table, c.name, c.type));
    return ev.columns;
  }

  /** Creates the target (or evolves it to take the input) and the dedup helpers. */
  async function prepareTarget(replace: boolean): Promise<string[]> {
    const ddl: string[] = [];
    tableColumns = await ensureTable(cfg.table, target, inputCols, replace, ddl);
    if (dedup) {
      if (dedup.deletedAt) await ensureTable(tombstoneName, tombstones, tombstoneColumns(shapeFor(tableColumns, inputCols)), replace, ddl);
      if (dialect.name === 'postgres') {
        // Key lookups of the merge; DuckDB hash-joins instead and an index would only slow its appends.
        const cols = dedup.primaryKey.map(quoteIdent).join(', ');
        ddl.push(`CREATE INDEX IF NOT EXISTS ${quoteIdent(helperName('_abflow_pk_', cfg.table, wh.maxIdentifier))} ON ${target} (${cols})`);
        if (dedup.deletedAt)
          ddl.push(`CREATE INDEX IF NOT EXISTS ${quoteIdent(helperName('_abflow_dk_', cfg.table, wh.maxIdentifier))} ON ${tombstones} (${cols})`);
      }
    }
    return ddl;
  }

  async function committedEpoch(): Promise<number> {
    const r = await conn!.rows(`SELECT coalesce(max(epoch), -1) AS e FROM ${commits} WHERE sink = ${quoteLiteral(opts.nodeId)}`);
    return Number(r[0]!.e);
  }

  async function hasNullKey(epochs: EpochRange): Promise<boolean> {
    const cond = dedup!.primaryKey.map((k) => `${quoteIdent(k)} IS NULL`).join(' OR ');
    const markers = dedup!.truncatedAt ? ` AND ${quoteIdent(dedup!.truncatedAt)} IS NULL` : '';
    const r = await conn!.rows(`SELECT count(*) AS n FROM ${stage} WHERE ${stagedRows(epochs)} AND (${cond})${markers}`);
    return Number(r[0]!.n) > 0;
  }

  /** Commits the staged epochs after the last committed one up to `id`. The loader keeps staging later epochs
   * meanwhile (on its own connection), so the committed rows leave the stage after the transaction: a DuckDB
   * transaction writes to one database, and the transient stage is another. */
  async function commitUpTo(id: number, cleanup: string[] = []): Promise<void> {
    if (id <= committed) return;
    const epochs = { after: committed, upTo: id };
    const nullSafe = dedup ? await hasNullKey(epochs) : false;
    const statements = [
      ...(replacePending ? await prepareTarget(true) : []),
      ...commitStatements(shape!, epochs, nullSafe),
      `INSERT INTO ${commits} VALUES (${quoteLiteral(opts.nodeId)}, ${id})`,
      ...cleanup,
    ];
    // A retry after a lost acknowledgement must not apply the epoch twice.
    await wh.transaction(conn!, statements, async () => (await committedEpoch()) < id);
    replacePending = false;
    committed = id;
    await conn!.run(`DELETE FROM ${stage} WHERE ${EPOCH_COLUMN} <= ${id}`);
  }

  const stageColumns = [...inputCols, { name: EPOCH_COLUMN, type: 'int64' as const }, { name: SEQ_COLUMN, type: 'int64' as const }];

  async function stagedWriter(): Promise<RowWriter> {
    if (stageAt.catalog) await conn!.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(stageAt.catalog)}.${quoteIdent(stageAt.schema!)}`);
    await conn!.run(`DROP TABLE IF EXISTS ${stage}`);
    await conn!.run(createTableSql(dialect, stage, stageColumns, false, transient ? dialect.transientStage.keyword : ''));
    const loader = await wh.loader(stageAt, stageColumns);
    let seq = 0;
    return {
      write(batch) {
        const first = seq;
        seq += batch.numRows;
        return loader.append(batch, epoch, first);
      },
      preCommit: () => loader.flush(),
      commit: commitUpTo,
      async close() {
        await loader.close();
        await conn!.run(`DROP TABLE IF EXISTS ${stage}`);
      },
      abort: () => loader.close(),
    };
  }

  /** Rows straight into the target when nothing needs the stage (see direct.ts): the stage need not survive a crash,
   * the commit does not merge, and the table's columns are the input's (no cast). */
  async function directWriter(): Promise<RowWriter | null> {
    const sameColumns =
      tableColumns.length === inputCols.length && tableColumns.every((c, i) => c.name === inputCols[i]!.name && c.type === inputCols[i]!.type);
    if (!wh.directLoader || !transient || dedup || !sameColumns) return null;
    const loader = await wh.directLoader({ schema: cfg.schema, table: cfg.table }, inputCols);
    const first = replacePending ? await prepareTarget(true) : [];
    replacePending = false;
    return new EpochTransactions(loader, {
      epoch,
      // An `overwrite` run replaces the table in its first commit, so a run that fails before that leaves it as it was.
      first,
      record: (id) => [`INSERT INTO ${commits} VALUES (${quoteLiteral(opts.nodeId)}, ${id})`],
      maxPendingRows: MAX_PENDING_ROWS,
    });
  }

  async function open(): Promise<void> {
    conn = await wh.connect();
    if (cfg.schema) await conn.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(cfg.schema)}`);
    await conn.run(`CREATE TABLE IF NOT EXISTS ${commits} (sink ${dialect.types.string}, epoch BIGINT)`);
    if (lastComplete !== null) {
      committed = await committedEpoch();
      // A fresh run clears its commit records, so none means that run had not committed (nor replaced) yet.
      replacePending = cfg.mode === 'overwrite' && committed === -1;
      // Finish a commit the crash interrupted, with the stage as that run left it.
      const staged = await catalogColumns(stageName);
      if (staged && committed < lastComplete) {
        const cols = staged.filter((c) => c.name !== EPOCH_COLUMN && c.name !== SEQ_COLUMN).map((c) => ({ name: c.name, type: c.type ?? 'string' }));
        for (const s of await prepareTarget(false)) await conn.run(s);
        shape = shapeFor(tableColumns, cols);
        await commitUpTo(lastComplete);
      }
    }
    if (resumeFrom === null) {
      await conn.run(`DELETE FROM ${commits} WHERE sink = ${quoteLiteral(opts.nodeId)}`);
      committed = -1;
      replacePending = cfg.mode === 'overwrite';
    }
    if (!replacePending) for (const s of await prepareTarget(false)) await conn.run(s);
    else tableColumns = inputCols;
    shape = shapeFor(tableColumns, inputCols);
    writer = (await directWriter()) ?? (await stagedWriter());
  }

  const oldGenerations =
    cfg.keepGenerationsFrom === undefined
      ? []
      : [`DELETE FROM ${target} WHERE _airbyte_generation_id IS NULL OR _airbyte_generation_id < ${cfg.keepGenerationsFrom}`];

  return {
    open: () => (wh.serializeOpen ?? ((f) => f()))(() => open().catch((e) => fail('opening', e))),
    concurrentCommits: true,
    write(batch: RecordBatch): void | Promise<void> {
      try {
        const pending = writer!.write(batch);
        return pending && pending.catch((e) => fail('staging', e));
      } catch (e) {
        fail('staging', e);
      }
    },
    async preCommit(id: number) {
      await writer!.preCommit(id).catch((e) => fail('staging', e));
      epoch = id + 1;
    },
    async commit(id: number) {
      await writer!.commit(id).catch((e) => fail(`commit of checkpoint ${id}`, e));
    },
    async close() {
      try {
        // Without checkpoints the run is one epoch; with them the final checkpoint has committed everything.
        if (!opts.checkpointing) {
          await writer!.preCommit(epoch);
          await writer!.commit(epoch, oldGenerations);
        } else if (oldGenerations.length) await wh.transaction(conn!, oldGenerations, async () => true);
        await writer!.close();
        writer = null;
        // Housekeeping, not durability (the rows are committed): it fails while another sink of the same file is in
        // a transaction, and then that sink's own `closing` does it.
        if (wh.closing) await conn!.run(wh.closing).catch(() => undefined);
      } catch (e) {
        fail('closing', e);
      } finally {
        await conn?.close();
      }
    },
    async abort() {
      await writer?.abort().catch(() => undefined);
      await conn?.close().catch(() => undefined);
    },
  };
}
