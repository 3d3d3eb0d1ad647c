/**
 * `lookup_join` against DuckDB and PostgreSQL, in-process: its output equals the SQL join of the same data (left and
 * inner, by key and by a query returning many rows); the cache answers repeated keys without asking again; a
 * database that fails sends the rows to dead letters and the run goes on; mistakes in the plan are config errors
 * that name the place.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchFromRows, defineSource, schemaOf, z } from '../../engine/api.js';
import { tempDir } from '../kit/cli.js';
import { query } from '../kit/duckdb.js';
import { duckdbPrivate } from '../../engine/duckdb.js';
import { dropSchema, PG_URL, pgQuery, uniqueName } from '../kit/postgres.js';
import { collectSink, compileText, type Rows, runText } from '../kit/run.js';

const orderSchema = schemaOf({ order_id: 'int64', customer_id: 'string', amount: 'float64' });
const CUSTOMERS = 50;

/** Orders 0…n-1 in batches of 100: customer c00…c59 (c50-c59 are not in the table; every 13th order has none). */
const orders = defineSource({
  kind: 'orders',
  summary: 'test source',
  config: z.object({ count: z.number() }).strict(),
  examples: [],
  outputSchemas: () => ({ out: orderSchema }),
  create: (cfg) => ({
    async *read() {
      for (let b = 0; b < cfg.count; b += 100) {
        const rows = Array.from({ length: Math.min(100, cfg.count - b) }, (_, k) => {
          const id = b + k;
          return { order_id: id, customer_id: id % 13 === 0 ? null : `c${String((id * 7) % 60).padStart(2, '0')}`, amount: id / 4 };
        });
        yield { batch: batchFromRows(orderSchema, rows) };
      }
    },
  }),
});

const customerRows = Array.from({ length: CUSTOMERS }, (_, c) => ({
  id: `c${String(c).padStart(2, '0')}`,
  tier: ['gold', 'silver', 'bronze'][c % 3]!,
  ltv: c * 10.5,
  since: new Date(Date.UTC(2020, 0, 1 + c)).toISOString(),
}));
/** Two to four past purchases per customer. */
const purchaseRows = customerRows.flatMap((c, n) =>
  Array.from({ length: 2 + (n % 3) }, (_, k) => ({
    id: n * 10 + k,
    customer_id: c.id,
    total: n + k,
    bought_at: new Date(Date.UTC(2026, 0, 1 + k)).toISOString(),
  })),
);

const sqlRows = (rows: Record<string, unknown>[], cols: string[]) =>
  rows.map((r) => `(${cols.map((c) => (typeof r[c] === 'string' ? `'${r[c]}'` : String(r[c]))).join(', ')})`).join(', ');

let dir: string;
let db: string;
let schema: string;

beforeAll(async () => {
  dir = tempDir('abflow-lookup-');
  db = join(dir, 'warehouse.duckdb');
  schema = uniqueName('lookup');
  const ddl = (s: string) => [
    `CREATE TABLE ${s}customers (id VARCHAR PRIMARY KEY, tier VARCHAR, ltv DOUBLE, since TIMESTAMPTZ)`,
    `INSERT INTO ${s}customers VALUES ${sqlRows(customerRows, ['id', 'tier', 'ltv', 'since'])}`,
    `CREATE TABLE ${s}purchases (id BIGINT, customer_id VARCHAR, total DOUBLE, bought_at TIMESTAMPTZ)`,
    `INSERT INTO ${s}purchases VALUES ${sqlRows(purchaseRows, ['id', 'customer_id', 'total', 'bought_at'])}`,
  ];
  const conn = await duckdbPrivate(db);
  for (const s of ddl('')) await conn.run(s);
  conn.closeSync();
  await pgQuery(`CREATE SCHEMA ${schema}`);
  for (const s of ddl(`${schema}.`)) await pgQuery(s.replace(/VARCHAR/g, 'text').replace(/DOUBLE/g, 'double precision'));
});
afterAll(() => dropSchema(schema));

const plan = (from: string, lookup: string, count = 1000) => `
name: lookup
sources: [{ id: orders, kind: orders, config: { count: ${count} } }]
operators:
  - id: enriched
    kind: lookup_join
    inputs: [orders]
    config:
      ${from}
${lookup
  .trim()
  .split('\n')
  .map((l) => `      ${l}`)
  .join('\n')}
sinks:
  - { id: out, kind: collect, inputs: [enriched] }
`;
const duckdbFrom = () => `duckdb: { path: ${db} }`;
const pgFrom = () => `postgres: { url: "${PG_URL}" }`;

/** The orders as a DuckDB table, to join in SQL. */
async function ordersTable(count: number): Promise<string> {
  const { rows } = await runText(
    `
name: dump
sources: [{ id: orders, kind: orders, config: { count: ${count} } }]
sinks: [{ id: out, kind: collect, inputs: [orders] }]`,
    [orders],
  );
  const o = rows.get('out')!;
  return `(SELECT * FROM (VALUES ${o.map((r) => `(${r.order_id}, ${r.customer_id === null ? 'NULL' : `'${r.customer_id}'`}, ${r.amount}::DOUBLE)`).join(', ')}) v(order_id, customer_id, amount))`;
}

const byOrder = (rows: Rows) => [...rows].sort((a, b) => Number(a.order_id) - Number(b.order_id));

describe.each([
  ['duckdb', duckdbFrom, ''],
  ['postgres', pgFrom, () => `${schema}.`],
] as const)('lookup_join against %s', (_name, from, prefix) => {
  const p = () => (typeof prefix === 'function' ? prefix() : prefix);

  it('by key, left: equals the SQL left join', async () => {
    const { rows, result } = await runText(
      plan(from(), `table: ${p()}customers\non: { customer_id: id }\ncolumns: { tier: string, ltv: float64, since: timestamp }`),
      [orders],
    );
    const expected = await query(
      db,
      `SELECT o.order_id, o.customer_id, o.amount, c.tier, c.ltv, strftime(c.since AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.000Z') AS since
       FROM ${await ordersTable(1000)} o LEFT JOIN customers c ON c.id = o.customer_id ORDER BY o.order_id`,
    );
    expect(byOrder(rows.get('out')!)).toEqual(expected.map((r) => ({ ...r, order_id: Number(r.order_id) })));
    const extra = result.nodes.find((n) => n.id === 'enriched')!.extra!;
    // 60 distinct customer ids, asked once each (the cache answers every later batch).
    expect(extra.keys_looked_up).toBe(60);
    expect(extra.queries).toBeLessThanOrEqual(10);
    // Rows with a null key or a customer not in the table have no match; a left join keeps them.
    const unmatched = rows.get('out')!.filter((r) => r.tier === null).length;
    expect([extra.matched, extra.missing]).toEqual([1000 - unmatched, unmatched]);
  });

  it('by query, many rows as a JSON list, inner: matches equal SQL; the rest go to `missing`', async () => {
    const { rows } = await runText(
      plan(
        from(),
        `query: SELECT id, total FROM ${p()}purchases WHERE customer_id = $customer_id AND total >= 0 ORDER BY bought_at DESC LIMIT 2\nmany: list\nas: recent\ntype: inner`,
        400,
      ).replace('inputs: [enriched] }', 'inputs: [enriched] }\n  - { id: lost, kind: collect, inputs: [enriched.missing] }'),
      [orders],
    );
    const expected = await query(
      db,
      `SELECT o.order_id, (SELECT to_json(list({'id': id, 'total': total} ORDER BY bought_at DESC)) FROM (SELECT * FROM purchases p WHERE p.customer_id = o.customer_id ORDER BY bought_at DESC LIMIT 2)) AS recent
       FROM ${await ordersTable(400)} o WHERE EXISTS (SELECT 1 FROM purchases p WHERE p.customer_id = o.customer_id) ORDER BY o.order_id`,
    );
    const out = byOrder(rows.get('out')!);
    expect(out.map((r) => [r.order_id, JSON.parse(r.recent as string)])).toEqual(expected.map((r) => [Number(r.order_id), JSON.parse(r.recent as string)]));
    const lost = rows.get('lost')!;
    expect(out.length + lost.length).toBe(400);
    expect(lost.every((r) => r.customer_id === null || Number(String(r.customer_id).slice(1)) >= CUSTOMERS)).toBe(true);
  });
});

describe('lookup_join when things go wrong', () => {
  it('a database that cannot be reached: rows become dead letters with the reason, the run goes on', async () => {
    const deadFile = join(tempDir(), 'dead.jsonl');
    const { rows, result } = await runText(
      plan(
        'postgres: { url: "postgres://postgres@127.0.0.1:1/none" }',
        'table: customers\non: { customer_id: id }\ncolumns: { tier: string }\nretry: { maxAttempts: 2, initialDelay: 1ms }',
        200,
      ).replace('name: lookup', `name: lookup\nengine: { deadLetters: ${deadFile} }`),
      [orders],
    );
    // Rows with a null key need no lookup and pass (left join); every other row is a dead letter.
    expect(rows.get('out')!.length).toBe(16);
    expect(result.deadLetters).toBe(184);
    const extra = result.nodes.find((n) => n.id === 'enriched')!.extra!;
    expect(extra.retries).toBeGreaterThan(0);
    const letter = JSON.parse(readFileSync(deadFile, 'utf8').split('\n')[0]!);
    expect(letter.reason).toMatch(/^lookup_failed: .*ECONNREFUSED|connect/);
  });

  it('a value that does not fit its declared type is a dead letter naming the column', async () => {
    const { rows, result } = await runText(plan(duckdbFrom(), 'table: customers\non: { customer_id: id }\ncolumns: { tier: int64 }', 100), [orders]);
    expect(rows.get('out')!.every((r) => r.tier === null)).toBe(true);
    expect(result.deadLetters).toBeGreaterThan(0);
  });

  it('names mistakes in the plan', async () => {
    const compile = (lookup: string, fromText = duckdbFrom()) => compileText(plan(fromText, lookup), [orders, collectSink(new Map())]);
    await expect(compile('table: customers\non: { nope: id }\ncolumns: { tier: string }')).rejects.toThrow(
      /^<plan>:\d+:\d+: operators\[0\]\.config\.on\.nope: the input has no column `nope`/,
    );
    await expect(compile('query: SELECT tier FROM customers WHERE id = $missing\ncolumns: { tier: string }')).rejects.toThrow(
      /the input has no column `missing`/,
    );
    await expect(compile('query: SELECT tier FROM customers WHERE id = $1\ncolumns: { tier: string }')).rejects.toThrow(/named after input columns/);
    await expect(compile("query: SELECT tier FROM customers WHERE id = '$customer_id'\ncolumns: { tier: string }")).rejects.toThrow(/uses no input column/);
    await expect(compile('table: customers\non: { customer_id: id }')).rejects.toThrow(/`many: first` needs `columns`/);
    await expect(compile('table: customers\non: { customer_id: id }\ncolumns: { amount: string }')).rejects.toThrow(/already has a column `amount`/);
    await expect(compile('table: customers\ncolumns: { tier: string }')).rejects.toThrow(/`table` needs `on`/);
    const failed = runText(plan(duckdbFrom(), 'table: no_such_table\non: { customer_id: id }\ncolumns: { tier: string }', 100), [orders]);
    await expect(failed).rejects.toThrow(/lookup_join: the lookup does not run: .*no_such_table/);
  });
});
