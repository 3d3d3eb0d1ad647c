/**
 * `lookup_join`: enriches each row with rows looked up in a DuckDB or PostgreSQL table — by key (`table` + `on`) or by
 * a parameterised query (`$customer_id`: the customer's last 10 orders) — as Flink's lookup join does:
 * - one query per batch, not per row: the batch's distinct keys are sent together (lookup-sql.ts), in chunks of
 *   `keysPerQuery`, `concurrency` chunks at a time;
 * - an LRU cache of answers with a time to live (misses are cached too, as Flink's lookup cache does), so hot keys
 *   are not asked again;
 * - `many: first` adds the first matching row's `columns` (typed, as declared); `many: list` adds all matching rows
 *   as a JSON array in one column (`as`);
 * - `type: left` keeps rows without a match (nulls, or `[]`); `type: inner` sends them to the `missing` output;
 * - a lookup that still fails after its retries never stops the stream: its rows go to `dead_letter` with the
 *   reason (`onError: fail` fails the job instead).
 * It runs on the coordinating thread (`single`): the work is waiting on the database, and one instance holds the
 * connections, the cache and the concurrency cap. A batch is emitted in input order once its lookups are settled.
 */
import { LRUCache } from 'lru-cache';
import {
  AbflowError,
  appendValue,
  atPath,
  backoffMs,
  cellValue,
  ColumnBuilder,
  type ColumnType,
  columnData,
  columnTypeSchema,
  defineOperator,
  duration,
  fieldOf,
  fieldType,
  makeBatch,
  parseTimestampMicros,
  pgConnectionConfig,
  Schema,
  takeBatch,
  z,
} from '../../engine/api.js';
import { type LookupStatement, lookupStatement } from './lookup-sql.js';
import { type LookupTable, openDuckdbTable, openPostgresTable } from './tables.js';

const config = z
  .object({
    duckdb: z
      .object({ path: z.string().min(1).describe('DuckDB database file.') })
      .strict()
      .optional()
      .describe('Look up in a DuckDB file.'),
    postgres: z.object(pgConnectionConfig).strict().optional().describe('Look up in PostgreSQL.'),
    table: z.string().min(1).optional().describe('Table to look up by key, as SQL (`orders`, `analytics.orders`).'),
    on: z.record(z.string().min(1), z.string().min(1)).optional().describe('With `table`: input column → table column; a row matches where all are equal.'),
    query: z
      .string()
      .min(1)
      .optional()
      .describe(
        "Instead of `table`: a SELECT whose `$column` parameters are the input row's values (e.g. `WHERE customer_id = $customer_id ORDER BY created_at DESC LIMIT 10`).",
      ),
    columns: z
      .record(z.string().min(1), columnTypeSchema)
      .optional()
      .describe('`many: first`: the looked-up columns to add and their types (the lookup must return them).'),
    many: z
      .enum(['first', 'list'])
      .default('first')
      .describe("`first`: the first matching row's `columns`; `list`: every matching row, as a JSON array in column `as`."),
    as: z.string().min(1).optional().describe('`many: list`: the name of the JSON array column.'),
    type: z
      .enum(['left', 'inner'])
      .default('left')
      .describe('`left`: rows without a match pass with nulls (or `[]`); `inner`: they go to the `missing` output.'),
    cache: z
      .union([
        z.literal(false),
        z
          .object({
            maxKeys: z.number().int().min(1).default(100_000).describe('Keys whose answers are kept (least recently used go first).'),
            ttl: duration().default(300_000).describe('How long an answer is used before it is asked again.'),
          })
          .strict(),
      ])
      .default({ maxKeys: 100_000, ttl: 300_000 })
      .describe('Answers kept per key, misses included; `false` asks the database for every batch.'),
    keysPerQuery: z.number().int().min(1).max(100_000).default(1000).describe('Distinct keys sent in one query.'),
    concurrency: z.number().int().min(1).max(64).default(4).describe('Queries in flight at most (connections to the database).'),
    retry: z
      .object({
        maxAttempts: z.number().int().min(1).max(20).default(3),
        initialDelay: duration().default(200),
        maxDelay: duration().default(5_000),
      })
      .strict()
      .default({ maxAttempts: 3, initialDelay: 200, maxDelay: 5_000 })
      .describe('Retries of a lookup that failed transiently (a lost connection), with jittered exponential backoff.'),
    onError: z
      .enum(['dead_letter', 'fail'])
      .default('dead_letter')
      .describe('A lookup that still fails: its rows become dead letters with the reason (default), or the job fails.'),
  })
  .strict()
  .superRefine((c, ctx) => {
    const issue = (message: string, path: (string | number)[] = []) => ctx.addIssue({ code: 'custom', message, path });
    if (!c.duckdb === !c.postgres) issue('give exactly one of `duckdb` or `postgres`');
    if (!c.table === !c.query) issue('give exactly one of `table` (with `on`) or `query`');
    if (c.table && !c.on) issue('`table` needs `on`: input column → table column', ['on']);
    if (c.query && c.on) issue('`on` goes with `table`; a query names its parameters as $column', ['on']);
    if (c.many === 'first' && !c.columns) issue('`many: first` needs `columns`: the looked-up columns and their types', ['columns']);
    if (c.many === 'list' && !c.as) issue('`many: list` needs `as`: the name of the JSON array column', ['as']);
    if (c.many === 'list' && c.columns) issue('`columns` goes with `many: first`; `many: list` adds one JSON column (`as`)', ['columns']);
  });

type Config = z.output<typeof config>;

/** What the output adds to the input: typed columns, or one JSON array column. */
function added(cfg: Config): [string, ColumnType][] {
  return cfg.many === 'list' ? [[cfg.as!, 'json']] : Object.entries(cfg.columns!);
}

function statementOf(cfg: Config, input: Schema): LookupStatement {
  const type = (column: string) => {
    const f = input.fields.find((x) => x.name === column);
    return f ? fieldType(f) : undefined;
  };
  const lookup = cfg.query ? { query: cfg.query } : { table: cfg.table!, on: cfg.on!, select: cfg.columns ? Object.keys(cfg.columns) : null };
  return lookupStatement(cfg.duckdb ? 'duckdb' : 'postgres', lookup, type);
}

/** A database value (as JSON gives it) in a column of type `t`; undefined when it does not fit. */
function fromJson(t: ColumnType, v: unknown): unknown {
  if (v === null) return null;
  switch (t) {
    case 'json':
      return JSON.stringify(v);
    case 'string':
      return typeof v === 'object' ? JSON.stringify(v) : String(v);
    case 'timestamp': {
      const us = typeof v === 'string' ? parseTimestampMicros(v) : null;
      return us ?? undefined;
    }
    case 'date': {
      const us = typeof v === 'string' ? parseTimestampMicros(v) : null;
      return us === null ? undefined : Number(us / 86_400_000_000n);
    }
    case 'bool':
      return typeof v === 'boolean' ? v : undefined;
    default: {
      const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
      if (!Number.isFinite(n) || ((t === 'int32' || t === 'int64') && !Number.isInteger(n))) return undefined;
      return n;
    }
  }
}

/** The answer for one key: the matching rows as JSON texts, in the order the database returned them. */
type Answer = readonly string[];

/** The answer for a key with a null part, which matches nothing and is not asked. */
const NO_MATCH: Answer = [];

interface Failed {
  readonly reason: string;
}

export const lookupJoin = defineOperator({
  kind: 'lookup_join',
  summary: 'Enriches rows with rows looked up in a DuckDB or PostgreSQL table (by key or by query): batched, cached, never stopping the stream.',
  config,
  execution: 'single',
  deadLetters: true,
  ports: (cfg) => (cfg.type === 'inner' ? ['out', 'missing'] : ['out']),
  examples: [
    {
      title: "Add the customer's tier from a warehouse table",
      yaml: 'id: with_tier\nkind: lookup_join\ninputs: [orders]\nconfig:\n  postgres: { urlEnv: WAREHOUSE_URL }\n  table: analytics.customers\n  on: { customer_id: id }\n  columns: { tier: string, lifetime_value: float64 }',
    },
    {
      title: "The customer's last 10 orders, as a JSON array for an LLM prompt",
      yaml: 'id: with_orders\nkind: lookup_join\ninputs: [tickets]\nconfig:\n  duckdb: { path: warehouse.duckdb }\n  query: SELECT id, total, status, created_at FROM orders WHERE customer_id = $customer_id ORDER BY created_at DESC LIMIT 10\n  many: list\n  as: recent_orders',
    },
  ],
  display: (cfg) => ({
    from: cfg.duckdb ? `duckdb ${cfg.duckdb.path}` : 'postgres',
    lookup: cfg.table
      ? `${cfg.table} on ${Object.entries(cfg.on!)
          .map(([a, b]) => `${a} = ${b}`)
          .join(', ')}`
      : 'query',
    type: cfg.type,
    cache: cfg.cache ? `${cfg.cache.maxKeys} keys, ${cfg.cache.ttl} ms` : 'off',
  }),
  resources: (cfg) => (cfg.duckdb ? [{ kind: 'read', path: cfg.duckdb.path, at: ['duckdb', 'path'] }] : []),
  outputSchemas(cfg, [input]) {
    statementOf(cfg, input!);
    const fields = [...input!.fields];
    for (const [name, type] of added(cfg)) {
      if (fields.some((f) => f.name === name))
        atPath([cfg.many === 'list' ? 'as' : 'columns'], () => {
          throw new AbflowError('config', `the input already has a column \`${name}\``, {
            hint: 'rename one of them (alias it in the query, or `rename` the input first)',
          });
        });
      fields.push(fieldOf(name, type));
    }
    return { out: new Schema(fields), ...(cfg.type === 'inner' ? { missing: input! } : {}) };
  },
  create(cfg, ctx) {
    const input = ctx.inputs[0]!;
    const out = ctx.outputs.out!;
    const statement = statementOf(cfg, input);
    const keyColumns = statement.params.map((p) => input.fields.findIndex((f) => f.name === p.column));
    const columns = added(cfg);
    const cache = cfg.cache ? new LRUCache<string, Answer>({ max: cfg.cache.maxKeys, ttl: cfg.cache.ttl, perf: { now: () => ctx.clock.monotonic() } }) : null;
    const metrics = { queries: 0, keys_looked_up: 0, cache_hits: 0, matched: 0, missing: 0, failed: 0, retries: 0 };
    const policy = { maxAttempts: cfg.retry.maxAttempts, initialDelayMs: cfg.retry.initialDelay, maxDelayMs: cfg.retry.maxDelay, multiplier: 2 };
    let table: Promise<LookupTable> | undefined;
    const open = () =>
      (table ??= (async () => {
        const t = cfg.duckdb ? await openDuckdbTable(cfg.duckdb.path, cfg.concurrency) : openPostgresTable(cfg.postgres!, ctx.nodeId, cfg.concurrency);
        // The statement is checked once against the database, with no keys: a wrong table or column is a plan error
        // at the start, not a dead letter per row. A database that cannot be reached now is not: its lookups fail
        // (and retry) batch by batch, and their rows become dead letters while the stream goes on.
        await t
          .query(
            statement.sql,
            [],
            statement.params.map(() => []),
          )
          .catch((e: unknown) => {
            if (t.transient(e)) return;
            throw new AbflowError('config', `lookup_join: the lookup does not run: ${(e as Error).message}`, { nodeId: ctx.nodeId, domain: 'user' });
          });
        return t;
      })());

    /** Answers for `keys` (distinct), `keysPerQuery` at a time, `concurrency` queries at once. */
    async function lookUp(t: LookupTable, keys: string[]): Promise<Map<string, Answer | Failed>> {
      const answers = new Map<string, Answer | Failed>();
      const chunks: string[][] = [];
      for (let i = 0; i < keys.length; i += cfg.keysPerQuery) chunks.push(keys.slice(i, i + cfg.keysPerQuery));
      let next = 0;
      const worker = async () => {
        while (next < chunks.length) {
          const chunk = chunks[next++]!;
          const parts = chunk.map((k) => JSON.parse(k) as (string | null)[]);
          const params = statement.params.map((_, p) => parts.map((key) => key[p]!));
          const rows: string[][] = chunk.map(() => []);
          try {
            for (let attempt = 1; ; attempt++) {
              try {
                metrics.queries++;
                for (const r of await t.query(
                  statement.sql,
                  chunk.map((_, i) => i),
                  params,
                ))
                  rows[r.i]!.push(r.r);
                break;
              } catch (e) {
                if (!t.transient(e) || attempt >= policy.maxAttempts) throw e;
                metrics.retries++;
                await ctx.clock.sleep(backoffMs(attempt, policy));
              }
            }
            chunk.forEach((k, i) => {
              answers.set(k, rows[i]!);
              cache?.set(k, rows[i]!);
            });
          } catch (e) {
            const failed = { reason: `lookup_failed: ${(e as Error).message}` };
            for (const k of chunk) answers.set(k, failed);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(cfg.concurrency, chunks.length) }, worker));
      return answers;
    }

    return {
      async processBatch(batch, collector) {
        const n = batch.numRows;
        const keyData = keyColumns.map((c) => columnData(batch, c));
        // A key with a null part matches nothing (SQL equality); it is not asked.
        const keyOf = (i: number): string | null => {
          const parts = keyData.map((d) => cellValue(d, i));
          return parts.some((p) => p === null) ? null : JSON.stringify(parts.map((p) => (typeof p === 'string' ? p : JSON.stringify(p))));
        };
        const keys = Array.from({ length: n }, (_, i) => keyOf(i));
        const answers = new Map<string, Answer | Failed>();
        const todo: string[] = [];
        for (const k of new Set(keys)) {
          if (k === null) continue;
          const hit = cache?.get(k);
          if (hit) {
            answers.set(k, hit);
            metrics.cache_hits++;
          } else todo.push(k);
        }
        if (todo.length) {
          metrics.keys_looked_up += todo.length;
          for (const [k, a] of await lookUp(await open(), todo)) answers.set(k, a);
        }

        const builders = columns.map(([, t]) => new ColumnBuilder(t, n));
        // Converted once per distinct answer: rows sharing a key share its values.
        const converted = new Map<Answer, unknown[] | string>();
        const kept: number[] = [];
        const missing: number[] = [];
        const dead: number[] = [];
        const reasons: string[] = [];
        for (let i = 0; i < n; i++) {
          const a: Answer | Failed = keys[i] === null ? NO_MATCH : answers.get(keys[i]!)!;
          if ('reason' in a) {
            dead.push(i);
            reasons.push(a.reason);
            continue;
          }
          if (!a.length) {
            metrics.missing++;
            if (cfg.type === 'inner') {
              missing.push(i);
              continue;
            }
          } else metrics.matched++;
          let values = converted.get(a);
          if (values === undefined) converted.set(a, (values = valuesOf(a)));
          if (typeof values === 'string') {
            dead.push(i);
            reasons.push(values);
            continue;
          }
          values.forEach((v, j) => appendValue(builders[j]!, v));
          kept.push(i);
        }
        metrics.failed += dead.length;
        if (dead.length && cfg.onError === 'fail')
          throw new AbflowError('operator_failed', `lookup_join failed on ${dead.length} row(s) (onError: fail): ${reasons[0]}`, {
            nodeId: ctx.nodeId,
            domain: 'external',
          });
        if (missing.length) collector.emit(takeBatch(batch, Int32Array.from(missing)), 'missing', Int32Array.from(missing));
        if (dead.length) collector.deadLetter(dead, reasons);
        if (!kept.length) return;
        const rows = Int32Array.from(kept);
        const base = kept.length === n ? batch : takeBatch(batch, rows);
        collector.emit(makeBatch(out, [...base.data.children, ...builders.map((b) => b.finish())], kept.length), 'out', rows);
      },
      async close() {
        await (await table?.catch(() => undefined))?.close();
      },
      metrics: () => ({ ...metrics, cache_keys: cache?.size ?? 0 }),
    };

    /** The values an answer adds to its rows, or the reason they do not fit the declared types. */
    function valuesOf(a: Answer): unknown[] | string {
      if (cfg.many === 'list') return [`[${a.join(',')}]`];
      const first = a.length ? (JSON.parse(a[0]!) as Record<string, unknown>) : null;
      const values = columns.map(([name, t]) => (first === null ? null : name in first ? fromJson(t, first[name]) : undefined));
      const wrong = values.findIndex((v) => v === undefined);
      if (wrong < 0) return values;
      const [name, t] = columns[wrong]!;
      return `lookup_type: looked-up column \`${name}\` ${first && name in first ? `holds ${JSON.stringify(first[name])}, not a ${t}` : "is not in the lookup's result"}`;
    }
  },
});
