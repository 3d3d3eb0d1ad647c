/**
 * `postgres_cdc` source: change data capture from PostgreSQL by logical replication with the built-in `pgoutput`
 * plugin, the way Airbyte's and Debezium's PostgreSQL sources work.
 *
 * A fresh start creates the publication (if missing) and a replication slot that exports a snapshot; the tables are
 * read in that snapshot, so the snapshot holds exactly the transactions before the slot's consistent point and the
 * stream exactly those after it. Then changes stream in commit order: inserts and updates as the new row, deletes as
 * the key with `_ab_cdc_deleted_at` set, truncates as one marker row with `_ab_cdc_truncated_at` set. Every row
 * carries Airbyte's CDC columns: `_ab_cdc_lsn` (the transaction's commit LSN, as a number: the natural dedup cursor),
 * `_ab_cdc_updated_at` (commit time) and `_ab_cdc_deleted_at`.
 *
 * Checkpoints fall between transactions: the position is the end LSN of the last whole transaction. The LSN is
 * confirmed to PostgreSQL (so it may recycle WAL) only after the checkpoint holding it is durable and every sink
 * committed it; after a crash the slot replays from the last confirmed position and the engine skips what its
 * checkpoint already holds. A crash during the snapshot restarts it (no checkpoint is taken before it ends).
 */
import type pg from 'pg';
import type { LogicalReplicationService, Pgoutput } from 'pg-logical-replication';
import {
  AbflowError,
  batchFromRows,
  type ColumnType,
  defineSource,
  fieldsOf,
  lazyRequire,
  parseTimestampMicros,
  schemaOf,
  type Schema,
  type SchemaSpec,
  type SourceOutput,
  z,
  pgClientConfig,
  type PgConnectionConfig,
  pgConnectionConfig,
  describePgError,
  describePgTarget,
  pgLib,
} from '../../engine/api.js';

const replicationLib = lazyRequire<typeof import('pg-logical-replication')>(import.meta.url, 'pg-logical-replication');

const config = z
  .object({
    ...pgConnectionConfig,
    tables: z
      .array(z.string().min(1))
      .min(1)
      .describe('Tables to capture, as `schema.table` or `table` (schema public); each is an output port named after the table.'),
    slot: z
      .string()
      .regex(/^[a-z0-9_]{1,63}$/, 'lower-case letters, digits and _')
      .optional()
      .describe('Replication slot name (default abflow_<source id>).'),
    publication: z.string().min(1).optional().describe('Publication name (default: the slot name); created for the tables if missing.'),
    snapshot: z.boolean().default(true).describe("On a fresh start, read the tables' current rows before streaming changes."),
    until: z
      .enum(['never', 'start'])
      .default('never')
      .describe("`never`: stream until stopped; `start`: end once every change committed before the run started is read (Airbyte's sync semantics)."),
  })
  .strict();

type Config = z.output<typeof config>;

interface Table {
  readonly schema: string;
  readonly name: string;
  readonly port: string;
}

function tablesOf(cfg: Config): Table[] {
  return cfg.tables.map((t) => {
    const dot = t.indexOf('.');
    const [schema, name] = dot < 0 ? ['public', t] : [t.slice(0, dot), t.slice(dot + 1)];
    return { schema, name, port: name };
  });
}

const slotOf = (cfg: Config, nodeId: string) => cfg.slot ?? `abflow_${nodeId.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`.slice(0, 63);
const ident = (s: string) => '"' + s.replace(/"/g, '""') + '"';
const qualified = (t: Table) => `${ident(t.schema)}.${ident(t.name)}`;

export const CDC_COLUMNS: SchemaSpec = {
  _ab_cdc_lsn: 'int64',
  _ab_cdc_updated_at: 'timestamp',
  _ab_cdc_deleted_at: 'timestamp',
  _ab_cdc_truncated_at: 'timestamp',
};

/** How a PostgreSQL column type reads as an abflow column; `numeric` stays exact text unless its declared
 * precision fits a double. Everything without a model (arrays, intervals, enums, ...) is its text form. */
export function pgColumnType(typname: string, typmod: number): ColumnType {
  switch (typname) {
    case 'bool':
      return 'bool';
    case 'int2':
    case 'int4':
      return 'int32';
    case 'int8':
      return 'int64';
    case 'float4':
    case 'float8':
      return 'float64';
    case 'numeric':
      return typmod > 4 && (typmod - 4) >> 16 <= 15 ? 'float64' : 'string';
    case 'json':
    case 'jsonb':
      return 'json';
    case 'timestamptz':
    case 'timestamp':
      return 'timestamp';
    case 'date':
      return 'date';
    default:
      return 'string';
  }
}

/** PostgreSQL text output (DateStyle ISO, TimeZone UTC, set on every connection) to an abflow value. */
export function fromPgText(type: ColumnType, text: string | null | undefined): unknown {
  if (text === null || text === undefined) return null;
  switch (type) {
    case 'bool':
      return text === 't';
    case 'int32':
    case 'float64':
      return Number(text);
    case 'int64':
      return BigInt(text);
    case 'timestamp':
      // Epoch µs, exact (PostgreSQL keeps microseconds); BC and infinite times have no abflow value.
      return /infinity| BC$/.test(text) ? null : parseTimestampMicros(text);
    case 'date': {
      if (/infinity| BC$/.test(text)) return null;
      return Math.round(Date.parse(text + 'T00:00:00Z') / 86_400_000);
    }
    default:
      return text;
  }
}

export function lsnToBigInt(lsn: string): bigint {
  const [hi, lo] = lsn.split('/');
  return (BigInt(parseInt(hi!, 16)) << 32n) | BigInt(parseInt(lo!, 16));
}

export function lsnText(n: bigint): string {
  return `${(n >> 32n).toString(16).toUpperCase()}/${(n & 0xffffffffn).toString(16).toUpperCase()}`;
}

interface ColumnInfo {
  readonly name: string;
  readonly type: ColumnType;
}

/** Text in, text out: this source converts values itself, so the snapshot and the stream agree. */
const TEXT_TYPES = { getTypeParser: () => (v: string) => v } as unknown as pg.CustomTypesConfig;
const SESSION = '-c TimeZone=UTC -c DateStyle=ISO -c extra_float_digits=1';

async function withClient<T>(cfg: PgConnectionConfig, nodeId: string, f: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new (pgLib().Client)({ ...pgClientConfig(cfg, `abflow ${nodeId}`), types: TEXT_TYPES, options: SESSION });
  await c.connect().catch((e: unknown) => {
    throw new AbflowError('source_io', `cannot connect to PostgreSQL at ${describePgTarget(cfg)}: ${describePgError(e)}`, { nodeId, domain: 'external' });
  });
  try {
    return await f(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

async function tableColumns(c: pg.Client, t: Table): Promise<ColumnInfo[]> {
  const r = await c.query<{ attname: string; typname: string; atttypmod: string }>(
    `SELECT a.attname, t.typname, a.atttypmod FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
     WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [qualified(t)],
  );
  return r.rows.map((row) => ({ name: row.attname, type: pgColumnType(row.typname, Number(row.atttypmod)) }));
}

async function describeTables(cfg: Config, nodeId: string): Promise<Map<string, ColumnInfo[]>> {
  return withClient(cfg, nodeId, async (c) => {
    const out = new Map<string, ColumnInfo[]>();
    for (const [i, t] of tablesOf(cfg).entries()) {
      const exists = await c.query('SELECT to_regclass($1) AS r', [qualified(t)]);
      if (!exists.rows[0].r) throw new AbflowError('config', `table ${t.schema}.${t.name} does not exist in ${describePgTarget(cfg)}`, { path: ['tables', i] });
      out.set(t.port, await tableColumns(c, t));
    }
    return out;
  });
}

/** The server settings logical replication needs, checked before anything is created. */
async function checkServer(c: pg.Client, cfg: Config, nodeId: string): Promise<void> {
  const setting = async (name: string) => String((await c.query(`SELECT current_setting('${name}') AS v`)).rows[0].v);
  const problems: string[] = [];
  const wal = await setting('wal_level');
  if (wal !== 'logical') problems.push(`wal_level is ${wal}, needs logical (ALTER SYSTEM SET wal_level = logical, then restart the server)`);
  if (Number(await setting('max_replication_slots')) < 1) problems.push('max_replication_slots is 0, needs at least 1 (restart required)');
  if (Number(await setting('max_wal_senders')) < 1) problems.push('max_wal_senders is 0, needs at least 1 (restart required)');
  const role = (await c.query('SELECT rolreplication OR rolsuper AS ok FROM pg_roles WHERE rolname = current_user')).rows[0];
  // (This client reads every value as PostgreSQL text: booleans are 't' / 'f'.)
  if (role?.ok !== 't') problems.push('the user lacks the REPLICATION attribute (ALTER ROLE <user> REPLICATION)');
  if (problems.length)
    throw new AbflowError('source_io', `PostgreSQL at ${describePgTarget(cfg)} is not set up for logical replication: ${problems.join('; ')}`, {
      nodeId,
      domain: 'external',
    });
  for (const t of tablesOf(cfg)) {
    const r = await c.query(
      `SELECT c.relreplident, EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) AS pk FROM pg_class c WHERE c.oid = $1::regclass`,
      [qualified(t)],
    );
    const { relreplident, pk } = r.rows[0] as { relreplident: string; pk: string };
    if (relreplident === 'n' || (relreplident === 'd' && pk !== 't'))
      throw new AbflowError(
        'source_io',
        `table ${t.schema}.${t.name} has no primary key and no replica identity, so its updates and deletes cannot be captured (add a primary key or ALTER TABLE ... REPLICA IDENTITY FULL)`,
        { nodeId, domain: 'external' },
      );
  }
}

/** Creates the publication for the tables, or adds the tables it lacks. */
async function ensurePublication(c: pg.Client, name: string, tables: Table[]): Promise<void> {
  const have = await c.query<{ schemaname: string; tablename: string }>('SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1', [name]);
  const exists = (await c.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [name])).rowCount! > 0;
  if (!exists) {
    await c.query(`CREATE PUBLICATION ${ident(name)} FOR TABLE ${tables.map(qualified).join(', ')}`);
    return;
  }
  const missing = tables.filter((t) => !have.rows.some((r) => r.schemaname === t.schema && r.tablename === t.name));
  if (missing.length) await c.query(`ALTER PUBLICATION ${ident(name)} ADD TABLE ${missing.map(qualified).join(', ')}`);
}

/** Position checkpointed between transactions: the end LSN of the last whole transaction read. */
interface Position {
  readonly lsn: string;
}

/** Rows of one port waiting to be emitted. */
class Pending {
  rows: Record<string, unknown>[] = [];
  constructor(
    readonly port: string,
    readonly schema: Schema,
    readonly columns: ColumnInfo[],
  ) {}
  take(): Record<string, unknown>[] {
    const r = this.rows;
    this.rows = [];
    return r;
  }
}

/** An unbounded queue between the replication socket's events and the reading generator; the socket pauses while
 * it is long (flow control), so memory stays bounded. */
class MessageQueue<T> {
  private readonly items: T[] = [];
  private waiter: (() => void) | null = null;
  private drained: (() => void) | null = null;
  constructor(private readonly high: number) {}
  /** Resolves once the queue is short enough again (the replication stream waits for it). */
  push(item: T): Promise<void> | void {
    this.items.push(item);
    this.waiter?.();
    this.waiter = null;
    if (this.items.length >= this.high) return new Promise((r) => (this.drained = r));
  }
  async next(timeoutMs: number): Promise<T | undefined> {
    if (!this.items.length) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, timeoutMs);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    const item = this.items.shift();
    if (this.items.length < this.high / 2 && this.drained) {
      this.drained();
      this.drained = null;
    }
    return item;
  }
}

type Event = { lsn: string; msg: Pgoutput.Message } | { error: Error } | { heartbeat: string };

export const postgresCdc = defineSource({
  kind: 'postgres_cdc',
  summary:
    'Change data capture from PostgreSQL tables (logical replication, pgoutput): snapshot, then inserts, updates, deletes and truncates with Airbyte CDC columns.',
  config,
  examples: [
    {
      title: 'Mirror the orders table',
      yaml: `id: cdc\nkind: postgres_cdc\nconfig:\n  urlEnv: SOURCE_DB_URL\n  tables: [public.orders]\n  slot: abflow_orders`,
    },
  ],
  display: (cfg) => ({ source: describePgTarget(cfg), tables: cfg.tables.join(', '), until: cfg.until }),
  // The slot holds the position: a finished `until: start` run is continued from it by the next run, and options
  // such as `until` or the connection URL's parameters change without a new snapshot.
  connection: (cfg) => ({ slot: cfg.slot ?? null, tables: cfg.tables }),
  ports: (cfg) => tablesOf(cfg).map((t) => t.port),
  async outputSchemas(cfg) {
    const tables = await describeTables(cfg, 'postgres_cdc');
    const out: Record<string, Schema> = {};
    for (const [port, cols] of tables) {
      const spec: Record<string, ColumnType> = {};
      for (const c of cols) spec[c.name] = c.type;
      out[port] = schemaOf({ ...spec, ...CDC_COLUMNS });
    }
    return out;
  },
  create(cfg, ctx) {
    const tables = tablesOf(cfg);
    const slot = slotOf(cfg, ctx.nodeId);
    const publication = cfg.publication ?? slot;
    let service: LogicalReplicationService | null = null;
    /** The newest position confirmed to the server (answers its keepalives without running ahead). */
    let confirmed = 0n;
    let unchangedToast = 0;

    return {
      describePosition: (p) => `WAL ${lsnText(BigInt(p))}`,
      async committed(at) {
        // Confirm the position to the server. The client library reports "received up to lsn + 1": hand it lsn - 1.
        const lsn = lsnToBigInt((at as Position).lsn);
        if (lsn > confirmed) confirmed = lsn;
        if (service && lsn > 0n) await service.acknowledge(lsnText(lsn - 1n));
      },
      async *read(from) {
        const pending = new Map<string, Pending>();
        // The table columns are the compiled output schema's, less the CDC columns: no second catalog read.
        for (const t of tables) {
          const schema = ctx.outputs[t.port]!;
          pending.set(
            t.port,
            new Pending(
              t.port,
              schema,
              fieldsOf(schema).filter((f) => !(f.name in CDC_COLUMNS)),
            ),
          );
        }
        let stopAt: bigint | null = null;
        let startLsn: string;

        /** Every port's pending rows as outputs; the last carries the resume position when given. */
        function* flush(position?: Position): Generator<SourceOutput> {
          const full = [...pending.values()].filter((p) => p.rows.length);
          for (const [i, p] of full.entries()) {
            const last = i === full.length - 1;
            yield { port: p.port, batch: batchFromRows(p.schema, p.take()), ...(last && position ? { resumeAfter: position } : {}) };
          }
          if (!full.length && position) {
            const first = pending.values().next().value!;
            yield { port: first.port, batch: batchFromRows(first.schema, []), resumeAfter: position };
          }
        }

        const replication = { ...pgClientConfig(cfg, `abflow ${ctx.nodeId}`), options: SESSION };
        if (from === undefined) {
          // A fresh start: a new slot whose exported snapshot is read before streaming from its consistent point.
          const creator = new (pgLib().Client)({ ...replication, replication: 'database' } as pg.ClientConfig);
          const snapshotReader = new (pgLib().Client)({ ...pgClientConfig(cfg, `abflow ${ctx.nodeId}`), types: TEXT_TYPES, options: SESSION });
          try {
            await withClient(cfg, ctx.nodeId, async (c) => {
              await checkServer(c, cfg, ctx.nodeId);
              await ensurePublication(c, publication, tables);
              await c.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active', [slot]);
              if (cfg.until === 'start') stopAt = lsnToBigInt(String((await c.query('SELECT pg_current_wal_lsn() AS l')).rows[0].l));
            });
            await creator.connect();
            const created = await creator.query(`CREATE_REPLICATION_SLOT ${ident(slot)} LOGICAL pgoutput EXPORT_SNAPSHOT`);
            const { consistent_point, snapshot_name } = created.rows[0] as { consistent_point: string; snapshot_name: string };
            startLsn = consistent_point;
            if (cfg.snapshot) {
              await snapshotReader.connect();
              await snapshotReader.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
              await snapshotReader.query(`SET TRANSACTION SNAPSHOT '${snapshot_name}'`);
              // The exported snapshot lives only while its creating connection is idle and open: now it can go.
              await creator.end();
              const lsn = lsnToBigInt(consistent_point);
              const now = ctx.clock.now();
              for (const t of tables) {
                const p = pending.get(t.port)!;
                await snapshotReader.query(`DECLARE abflow_snapshot NO SCROLL CURSOR FOR SELECT * FROM ${qualified(t)}`);
                for (;;) {
                  const r = await snapshotReader.query(`FETCH ${ctx.batchSize} FROM abflow_snapshot`);
                  if (!r.rows.length) break;
                  for (const row of r.rows) p.rows.push(toRow(p.columns, row, lsn, now, null));
                  yield* flush();
                }
                await snapshotReader.query('CLOSE abflow_snapshot');
              }
              await snapshotReader.query('COMMIT');
            }
          } catch (e) {
            if (e instanceof AbflowError) throw e;
            throw new AbflowError('source_io', `postgres_cdc snapshot of ${cfg.tables.join(', ')} failed: ${describePgError(e)}`, {
              nodeId: ctx.nodeId,
              domain: 'external',
            });
          } finally {
            await creator.end().catch(() => undefined);
            await snapshotReader.end().catch(() => undefined);
          }
          // The snapshot is complete: the first point a checkpoint may resume from.
          yield* flush({ lsn: startLsn });
        } else {
          startLsn = (from as Position).lsn;
          if (cfg.until === 'start')
            stopAt = await withClient(cfg, ctx.nodeId, async (c) => lsnToBigInt(String((await c.query('SELECT pg_current_wal_lsn() AS l')).rows[0].l)));
        }
        if (stopAt !== null && lsnToBigInt(startLsn) >= stopAt) return;

        // Streaming. Transactions are delivered whole, in commit order.
        const queue = new MessageQueue<Event>(4 * ctx.batchSize);
        service = new (replicationLib().LogicalReplicationService)(replication, {
          acknowledge: { auto: false, timeoutSeconds: 0 },
          flowControl: { enabled: true },
        });
        const relations = new Map<number, Pending>();
        service.on('data', (lsn: string, msg: Pgoutput.Message) => queue.push({ lsn, msg }));
        service.on('error', (error: Error) => void queue.push({ error }));
        const skipBefore = lsnToBigInt(startLsn);
        // Where this run starts was committed by every sink (the checkpoint restored, or the new slot's start).
        if (skipBefore > confirmed) confirmed = skipBefore;
        // Keepalives that ask for an answer get the last confirmed position (which never runs ahead of a checkpoint).
        service.on('heartbeat', (lsn: string, _t: number, shouldRespond: boolean) => {
          if (shouldRespond && confirmed > 0n) void service?.acknowledge(lsnText(confirmed - 1n)).catch(() => undefined);
          void queue.push({ heartbeat: lsn });
        });
        const plugin = new (replicationLib().PgoutputPlugin)({ protoVersion: 1, publicationNames: [publication] });
        // Values stay PostgreSQL text (converted by fromPgText, as the snapshot's are) instead of the client
        // library's global type parsers, which read timestamps without zone and dates in the local time zone.
        const parser = (plugin as unknown as { parser: { readRelationColumn: (r: unknown) => object } }).parser;
        const readColumn = parser.readRelationColumn.bind(parser);
        parser.readRelationColumn = (r) => ({ ...readColumn(r), parser: (v: string) => v });
        // After a crash the previous connection's walsender may hold the slot for a moment: retry while it is "active".
        const subscribe = (attempt: number): void => {
          service!.subscribe(plugin, slot, startLsn).catch(async (error: Error) => {
            if (/is active for PID/.test(error.message) && attempt < 40 && service) {
              await new Promise((r) => setTimeout(r, 250));
              subscribe(attempt + 1);
            } else void queue.push({ error });
          });
        };
        subscribe(1);

        let tx: { lsn: bigint; timeMs: number; skip: boolean } | null = null;
        let boundary: Position | null = null;
        /** The last position emitted (an idle source repeats it). */
        let emitted: Position = { lsn: startLsn };
        let rowsSinceBoundary = 0;
        let lastEmit = ctx.clock.monotonic();
        try {
          for (;;) {
            const ev = await queue.next(ctx.lingerMs);
            const lingered = ctx.clock.monotonic() - lastEmit >= ctx.lingerMs;
            if (ev && 'error' in ev)
              throw new AbflowError('source_io', `postgres_cdc replication from slot ${slot} failed: ${describePgError(ev.error)}`, {
                nodeId: ctx.nodeId,
                domain: 'external',
              });
            if (ev && 'msg' in ev) {
              const m = ev.msg;
              switch (m.tag) {
                case 'relation': {
                  const t = tables.find((x) => x.schema === m.schema && x.name === m.name);
                  if (t) relations.set(m.relationOid, pending.get(t.port)!);
                  break;
                }
                case 'begin':
                  tx = {
                    lsn: lsnToBigInt(m.commitLsn!),
                    timeMs: Number((m.commitTime as unknown as bigint) / 1000n),
                    skip: lsnToBigInt(m.commitLsn!) < skipBefore,
                  };
                  break;
                case 'insert':
                case 'update':
                case 'delete': {
                  const p = relations.get(m.relation.relationOid);
                  if (!p || !tx || tx.skip) break;
                  const deleted = m.tag === 'delete';
                  const values = deleted ? (m.key ?? m.old ?? {}) : m.new;
                  if (!deleted) for (const c of p.columns) if (values[c.name] === undefined) unchangedToast++;
                  p.rows.push(toRow(p.columns, values, tx.lsn, tx.timeMs, deleted ? tx.timeMs : null));
                  rowsSinceBoundary++;
                  break;
                }
                case 'truncate':
                  if (!tx || tx.skip) break;
                  for (const r of m.relations) {
                    const p = relations.get(r.relationOid);
                    if (p) p.rows.push({ _ab_cdc_lsn: tx.lsn, _ab_cdc_updated_at: tx.timeMs, _ab_cdc_truncated_at: tx.timeMs });
                  }
                  rowsSinceBoundary++;
                  break;
                case 'commit':
                  if (tx && !tx.skip) boundary = { lsn: m.commitEndLsn! };
                  tx = null;
                  break;
              }
            }
            const atBoundary = tx === null;
            const endLsn = lsnToBigInt((boundary ?? emitted).lsn);
            const caughtUp = stopAt !== null && atBoundary && (endLsn >= stopAt || (ev && 'heartbeat' in ev && lsnToBigInt(ev.heartbeat) >= stopAt));
            if (atBoundary && boundary && (rowsSinceBoundary >= ctx.batchSize || lingered || caughtUp)) {
              yield* flush(boundary);
              emitted = boundary;
              boundary = null;
              rowsSinceBoundary = 0;
              lastEmit = ctx.clock.monotonic();
            } else if (!atBoundary && rowsSinceBoundary >= ctx.batchSize) {
              // A large transaction: emit its rows as they come; the checkpoint waits for its commit.
              yield* flush();
              rowsSinceBoundary = 0;
            } else if (lingered && atBoundary) {
              // Idle: repeat the last position so a requested checkpoint can be taken without waiting for a change.
              yield* flush(emitted);
              lastEmit = ctx.clock.monotonic();
            }
            if (caughtUp) return;
          }
        } finally {
          if (unchangedToast)
            process.stderr.write(
              `warning: postgres_cdc ${ctx.nodeId}: ${unchangedToast} unchanged TOAST values were not sent by the server and read as null; set REPLICA IDENTITY FULL on tables with large values\n`,
            );
          await service.destroy().catch(() => undefined);
          service = null;
        }
      },
    };
  },
});

function toRow(
  columns: readonly ColumnInfo[],
  values: Record<string, unknown>,
  lsn: bigint,
  timeMs: number,
  deletedMs: number | null,
): Record<string, unknown> {
  const row: Record<string, unknown> = { _ab_cdc_lsn: lsn, _ab_cdc_updated_at: timeMs, _ab_cdc_deleted_at: deletedMs };
  for (const c of columns) row[c.name] = fromPgText(c.type, values[c.name] as string | null | undefined);
  return row;
}
