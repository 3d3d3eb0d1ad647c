/**
 * plans/feature-store.yaml against the machine's Redis: the stored features equal the windowed aggregates DuckDB
 * computes over the same payments; an older version never overwrites a newer one; TTLs are set.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { abflow, ROOT, tempDir } from '../kit/cli.js';
import { query } from '../kit/duckdb.js';
import { runText } from '../kit/run.js';

const prefix = `abflow_test_${process.pid}_${Date.now().toString(36)}`;
const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true });

afterAll(async () => {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  redis.disconnect();
});

describe('redis feature store', () => {
  it('stores per customer the latest 5-minute and 60-minute features, equal to DuckDB over the same payments', async () => {
    const cwd = tempDir('abflow-features-');
    const plan = readFileSync(join(ROOT, 'plans/feature-store.yaml'), 'utf8')
      .replace('count: 200000', 'count: 40000')
      .replaceAll('"features:customer:', `"${prefix}:customer:`)
      .replace('sinks:\n', 'sinks:\n  - { id: raw, kind: duckdb, inputs: [enrich], config: { path: out/payments.duckdb, table: payments } }\n');
    writeFileSync(join(cwd, 'plan.yaml'), plan);
    const r = abflow(['run', 'plan.yaml', '-q'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    await redis.connect();
    const expected = await query(
      join(cwd, 'out/payments.duckdb'),
      `WITH b AS (SELECT customer_id, time_bucket(INTERVAL 5 MINUTE, event_time) AS ws, count(*) AS n, sum(amount_usd) AS s FROM payments GROUP BY ALL)
       SELECT customer_id, arg_max(n, ws)::INT AS n, arg_max(s, ws) AS s, epoch_ms(max(ws) + INTERVAL 5 MINUTE) AS we FROM b GROUP BY customer_id ORDER BY customer_id`,
    );
    expect(expected.length).toBeGreaterThan(1000);
    const pipe = redis.pipeline();
    for (const e of expected) pipe.hgetall(`${prefix}:customer:${e.customer_id}:5m`);
    const stored = (await pipe.exec())!.map(([, v]) => v as Record<string, string>);
    let mismatches = 0;
    expected.forEach((e, i) => {
      const h = stored[i]!;
      const ok =
        Number(h.tx_count_5m) === e.n &&
        Math.abs(Number(h.amount_usd_5m) - Number(e.s)) < 1e-6 &&
        Date.parse(h.window_end!) === Number(e.we) &&
        Number(h._version) === Number(e.we);
      if (!ok) mismatches++;
    });
    expect(mismatches).toBe(0);
    // 60-minute sliding windows (slide 5m): the latest window holding a customer's last payment, in bucket b, is
    // [b, b + 60m); it fires at the end of the input.
    const sixty = await query(
      join(cwd, 'out/payments.duckdb'),
      `WITH last AS (SELECT customer_id, max(time_bucket(INTERVAL 5 MINUTE, event_time)) + INTERVAL 60 MINUTE AS we FROM payments GROUP BY ALL)
       SELECT p.customer_id, count(*)::INT AS n, epoch_ms(any_value(last.we)) AS we FROM payments p JOIN last USING (customer_id)
       WHERE p.event_time >= last.we - INTERVAL 60 MINUTE AND p.event_time < last.we GROUP BY p.customer_id ORDER BY 1 LIMIT 300`,
    );
    for (const e of sixty) {
      const h = await redis.hgetall(`${prefix}:customer:${e.customer_id}:60m`);
      expect({ c: e.customer_id, n: Number(h.tx_count_60m), we: Date.parse(h.window_end!) }).toEqual({ c: e.customer_id, n: e.n, we: Number(e.we) });
    }
    const ttl = await redis.pttl(`${prefix}:customer:${expected[0]!.customer_id}:5m`);
    expect(ttl).toBeGreaterThan(23 * 3_600_000);
  }, 120_000);

  it('an older version never overwrites a newer one; null features remove their field', async () => {
    if (redis.status !== 'ready') await redis.connect();
    const key = `${prefix}:versions`;
    const run = (rows: string) =>
      runText(
        `
name: versions
sources:
  - { id: in, kind: jsonl, config: { path: "-", schema: { id: string, f: float64, v: int64 } } }
sinks:
  - { id: fs, kind: redis, inputs: [in], config: { key: "${key}:{{id}}", fields: [f], version: v } }
`.replace('path: "-", ', `path: ${writeRows(rows)}, `),
      );
    await run('{"id":"a","f":1,"v":10}\n{"id":"a","f":2,"v":5}\n{"id":"b","f":7,"v":1}\n{"id":"b","f":null,"v":2}\n');
    expect(await redis.hgetall(`${key}:a`)).toEqual({ f: '1', _version: '10' });
    expect(await redis.hgetall(`${key}:b`)).toEqual({ _version: '2' });
    // A version must order as a number or a time; text is refused when the plan compiles.
    await expect(
      runText(
        `name: v\nsources:\n  - { id: in, kind: jsonl, config: { path: ${writeRows('{"id":"a"}\n')}, schema: { id: string } } }\nsinks:\n  - { id: fs, kind: redis, inputs: [in], config: { key: "${key}:{{id}}", version: id } }\n`,
      ),
    ).rejects.toThrow(/`id` is string; a version must be a number or a time/);
  });
});

function writeRows(text: string): string {
  const f = join(tempDir('abflow-redis-'), 'in.jsonl');
  writeFileSync(f, text);
  return f;
}
