/**
 * The main job end to end through the CLI, as a user runs it: the DuckDB file holds exactly the generated rows
 * minus the filtered ones, split disjointly by the route, and parallelism 1 and 2 give identical tables.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { paymentsBatch, paymentsOptions } from '../../connectors/generate/generators/payments.js';
import { columnData, stringsOf } from '../../engine/arrow/columns.js';
import { abflow, ROOT, tempDir } from '../kit/cli.js';
import { query } from '../kit/duckdb.js';

const PLAN = join(ROOT, 'plans/payments.yaml');
const COUNT = 200_000;
const TABLES = ['failed_payments', 'large_payments', 'payments'];

function expectedStatuses(): string[] {
  const b = paymentsBatch(42, Date.parse('2024-01-01T00:00:00Z'), 0, COUNT, paymentsOptions.parse({}));
  return stringsOf(
    columnData(
      b,
      b.schema.fields.findIndex((f) => f.name === 'status'),
    ),
  ) as string[];
}

describe('plans/payments.yaml', () => {
  const runs: Record<number, string> = {};
  beforeAll(() => {
    for (const p of [1, 2]) {
      const cwd = tempDir();
      const r = abflow(['run', PLAN, '--parallelism', String(p), '--summary-json', 'summary.json'], { cwd });
      expect(r.code, r.stderr).toBe(0);
      runs[p] = cwd;
    }
  }, 120_000);

  it('writes every generated row except the filtered (pending) ones, each to exactly one table', async () => {
    const statuses = expectedStatuses();
    const pending = statuses.filter((s) => s === 'pending').length;
    const failed = statuses.filter((s) => s === 'failed').length;
    const db = join(runs[2]!, 'out/payments.duckdb');
    const counts = await query(db, TABLES.map((t) => `SELECT '${t}' AS t, count(*) AS n, count(DISTINCT payment_id) AS d FROM ${t}`).join(' UNION ALL '));
    const byTable = Object.fromEntries(counts.map((r) => [r.t, Number(r.n)]));
    expect(byTable.failed_payments).toBe(failed);
    expect(TABLES.reduce((n, t) => n + byTable[t]!, 0)).toBe(COUNT - pending);
    const all = await query(
      db,
      `SELECT count(DISTINCT payment_id) AS d, min(payment_id) AS lo, max(payment_id) AS hi FROM (${TABLES.map((t) => `SELECT payment_id FROM ${t}`).join(' UNION ALL ')})`,
    );
    expect(Number(all[0]!.d)).toBe(COUNT - pending);
    const wrongStatus = await query(
      db,
      `SELECT count(*) AS n FROM (${TABLES.map((t) => `SELECT status FROM ${t}`).join(' UNION ALL ')}) WHERE status = 'pending'`,
    );
    expect(Number(wrongStatus[0]!.n)).toBe(0);
  });

  it('leaves the rows in the database files themselves: no write-ahead log after a clean run', () => {
    for (const p of [1, 2]) expect(existsSync(join(runs[p]!, 'out/payments.duckdb.wal'))).toBe(false);
  });

  it('computes per-customer windowed features: each payment counted in its 5-minute window and 12 hops of 60 minutes', async () => {
    const db = join(runs[2]!, 'out/payments.duckdb');
    const [late] = await query(db, 'SELECT count(*) AS n FROM late_payments');
    const [f5] = await query(
      db,
      'SELECT sum(tx_count_5m) AS n, count(*) AS w, count(DISTINCT (customer_id, window_start)) AS d, min(epoch_ms(window_end) - epoch_ms(window_start)) AS size FROM customer_features_5m',
    );
    const [f60] = await query(db, 'SELECT sum(tx_count_60m) AS n, min(epoch_ms(window_end) - epoch_ms(window_start)) AS size FROM customer_features_60m');
    const lateRows = Number(late!.n);
    expect(Number(f5!.w)).toBe(Number(f5!.d)); // one result per key and window
    expect(Number(f5!.size)).toBe(300_000);
    expect(Number(f60!.size)).toBe(3_600_000);
    // The watermark advances per batch (8192 payments ≈ 164 s of event time, like Flink's periodic emission), so with
    // this plan's 10 s bound no payment arrives after its windows closed: every one is counted, none side-output.
    expect(lateRows).toBe(0);
    expect(Number(f5!.n)).toBe(COUNT);
    expect(Number(f60!.n)).toBe(12 * COUNT);
  });

  it('gives identical sink contents at parallelism 1 and 2', async () => {
    for (const t of ['customer_features_5m', 'customer_features_60m']) {
      const sql = `SELECT md5(string_agg(customer_id || '|' || window_start::VARCHAR || '|' || COLUMNS('tx_count.*')::VARCHAR, ',' ORDER BY customer_id, window_start)) AS h FROM ${t}`;
      expect(await query(join(runs[2]!, 'out/payments.duckdb'), sql)).toEqual(await query(join(runs[1]!, 'out/payments.duckdb'), sql));
    }
    for (const t of TABLES) {
      const sql = `SELECT md5(string_agg(payment_id::VARCHAR || '|' || amount_usd::VARCHAR || '|' || status || '|' || event_time::VARCHAR, ',' ORDER BY rowid)) AS h, count(*) AS n FROM ${t}`;
      const [a] = await query(join(runs[1]!, 'out/payments.duckdb'), sql);
      const [b] = await query(join(runs[2]!, 'out/payments.duckdb'), sql);
      expect(b).toEqual(a);
    }
  });
});
