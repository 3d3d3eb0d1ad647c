/**
 * Windowed operators through real plans: every aggregate against a direct computation over the generated rows,
 * count and processing-time windows, ingestion time, and idleness (a silent input does not hold windows back).
 */
import { describe, expect, it } from 'vitest';
import { paymentsBatch, paymentsOptions } from '../../connectors/generate/generators/payments.js';
import { batchFromRows, defineSource, rowObject, schemaOf, z } from '../../engine/api.js';
import { loadComponents } from '../../engine/builtins.js';
import { Job } from '../../engine/runtime/job.js';
import { collectSink, compileText, type Rows, runText } from '../kit/run.js';

const N = 3000;
const payments = () => {
  const b = paymentsBatch(5, Date.parse('2024-01-01T00:00:00Z'), 0, N, paymentsOptions.parse({}));
  return Array.from(
    { length: N },
    (_, i) => rowObject(b, i) as { payment_id: number; event_time: string; customer_id: string; amount: number; currency: string; status: string },
  );
};

const source = `
sources: [{ id: p, kind: generate, config: { generator: payments, count: ${N}, seed: 5 } }]`;

describe('windowed aggregates', () => {
  it('computes every aggregate as a direct computation does', async () => {
    const { rows } = await runText(`
name: aggs
engine: { parallelism: 2, batchSize: 700 }
${source}
operators:
  - { id: et, kind: watermark, inputs: [p], config: { column: event_time, maxOutOfOrderness: 1m } }
  - id: w
    kind: window_aggregate
    inputs: [et]
    config:
      keyBy: [currency]
      timeColumn: event_time
      window: { type: tumbling, size: 1h }
      aggregates:
        n: count()
        total: sum(amount)
        mean: avg(amount)
        lo: min(amount)
        hi: max(amount)
        sd: stddev_samp(amount)
        vp: var_pop(amount)
        customers: count_distinct(customer_id)
        customers_approx: approx_count_distinct(customer_id)
        med: median(amount)
        p90: percentile(amount, 0.9)
        failed: count(if(status = 'failed', 1, null))
        first_id: first(payment_id)
        last_id: last(payment_id)
        statuses: collect(status)
sinks: [{ id: out, kind: collect, inputs: [w] }]`);
    const input = payments();
    const groups = new Map<string, typeof input>();
    for (const r of input) {
      const hour = Math.floor(Date.parse(r.event_time) / 3_600_000) * 3_600_000;
      const k = `${r.currency}|${new Date(hour).toISOString()}`;
      (groups.get(k) ?? groups.set(k, []).get(k)!).push(r);
    }
    const out = rows.get('out')!;
    expect(out).toHaveLength(groups.size);
    for (const o of out) {
      const g = groups.get(`${o.currency}|${o.window_start}`)!;
      const amounts = g.map((r) => r.amount);
      const mean = amounts.reduce((a, b) => a + b, 0) / amounts.length;
      const ss = amounts.reduce((a, b) => a + (b - mean) ** 2, 0);
      const sorted = [...amounts].sort((a, b) => a - b);
      const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
      const distinct = new Set(g.map((r) => r.customer_id)).size;
      expect(o.n).toBe(g.length);
      expect(o.total).toBeCloseTo(
        amounts.reduce((a, b) => a + b, 0),
        6,
      );
      expect(o.mean).toBeCloseTo(mean, 9);
      expect(o.lo).toBe(sorted[0]);
      expect(o.hi).toBe(sorted[sorted.length - 1]);
      if (g.length > 1) expect(o.sd).toBeCloseTo(Math.sqrt(ss / (g.length - 1)), 6);
      expect(o.vp).toBeCloseTo(ss / g.length, 4);
      expect(o.customers).toBe(distinct);
      expect(Math.abs((o.customers_approx as number) - distinct) / distinct).toBeLessThan(0.05);
      if (g.length >= 50) {
        expect(Math.abs((o.med as number) - q(0.5)) / q(0.5)).toBeLessThan(0.05);
        expect(Math.abs((o.p90 as number) - q(0.9)) / q(0.9)).toBeLessThan(0.05);
      }
      expect(o.failed).toBe(g.filter((r) => r.status === 'failed').length);
      // Arrival order per key is the source order at any parallelism.
      expect(o.first_id).toBe(g[0]!.payment_id);
      expect(o.last_id).toBe(g[g.length - 1]!.payment_id);
      expect(JSON.parse(o.statuses as string)).toEqual(g.map((r) => r.status));
      expect(Date.parse(o.window_time as string)).toBe(Date.parse(o.window_end as string) - 1);
    }
  });

  it('fires count windows every `size` rows of a key', async () => {
    const { rows } = await runText(`
name: counts
${source}
operators:
  - { id: w, kind: window_aggregate, inputs: [p], config: { keyBy: [currency], window: { type: count, size: 25 }, aggregates: { n: count(), total: sum(amount) } } }
sinks: [{ id: out, kind: collect, inputs: [w] }]`);
    const perCurrency = new Map<string, number>();
    for (const r of payments()) perCurrency.set(r.currency, (perCurrency.get(r.currency) ?? 0) + 1);
    const out = rows.get('out')!;
    expect(out.every((r) => r.n === 25)).toBe(true);
    expect(out).toHaveLength([...perCurrency.values()].reduce((a, c) => a + Math.floor(c / 25), 0));
  });

  it('counts every row once in processing-time windows, and stamps ingestion time with now()', async () => {
    const t0 = Date.now();
    const { rows } = await runText(`
name: proc
${source}
operators:
  - { id: stamped, kind: derive, inputs: [p], config: { columns: { ingested_at: "now()" } } }
  - { id: w, kind: window_aggregate, inputs: [stamped], config: { keyBy: [status], window: { type: tumbling, size: 10s }, aggregates: { n: count(), first_seen: min(ingested_at) } } }
sinks: [{ id: out, kind: collect, inputs: [w] }]`);
    const out = rows.get('out')!;
    expect(out.reduce((a, r) => a + (r.n as number), 0)).toBe(N);
    for (const r of out) expect(Date.parse(r.first_seen as string)).toBeGreaterThanOrEqual(t0 - 1);
  });

  it('dead-letters rows without an event time in top-n and joins instead of dropping them', async () => {
    const { rows, result } = await runText(`
name: nulltime
${source}
operators:
  - { id: t, kind: derive, inputs: [p], config: { columns: { ts: "if(payment_id % 100 = 0, cast(null, 'timestamp'), event_time)" } } }
  - { id: top, kind: window_top_n, inputs: [t], config: { timeColumn: ts, window: { type: tumbling, size: 1h }, orderBy: amount } }
  - { id: j, kind: window_join, inputs: [t, t], config: { window: { type: tumbling, size: 1h }, left: { key: [customer_id], timeColumn: ts }, right: { key: [customer_id], timeColumn: ts }, type: semi } }
sinks:
  - { id: top_out, kind: collect, inputs: [top] }
  - { id: top_dead, kind: collect, inputs: [top.dead_letter] }
  - { id: join_dead, kind: collect, inputs: [j.dead_letter] }`);
    expect(rows.get('top_out')!.length).toBeGreaterThan(0);
    expect(rows.get('top_dead')).toHaveLength(N / 100);
    expect(rows.get('top_dead')![0]).toMatchObject({ node: 'top', reason: 'no event time: `ts` is null', source: 'p', position: 100 });
    expect(rows.get('join_dead')).toHaveLength((2 * N) / 100); // from both inputs
    expect(result.nodes.find((n) => n.id === 'top')!.dead).toBe(N / 100);
  });

  it('does not let an idle input hold windows back (idleTimeout)', async () => {
    const schema = schemaOf({ k: 'string', ts: 'timestamp' });
    const silent = defineSource({
      kind: 'silent',
      summary: 'a source that sends one row, then nothing until stopped',
      config: z.object({}).strict(),
      examples: [],
      outputSchemas: () => ({ out: schema }),
      create: () => ({
        async *read() {
          yield { batch: batchFromRows(schema, [{ k: 'x', ts: Date.UTC(2024, 0, 1) }]) };
          await new Promise(() => undefined);
        },
      }),
    });
    const rows = new Map<string, Rows>();
    const plan = await compileText(
      `
name: idle
engine: { parallelism: 1, batchSize: 200, linger: 20ms }
sources:
  - { id: busy, kind: generate, config: { generator: payments, count: 4000, seed: 1, rowsPerSecond: 20000, options: { eventsPerSecond: 10 } } }
  - { id: quiet, kind: silent }
operators:
  - { id: busy_k, kind: select, inputs: [busy], config: { columns: [customer_id, event_time] } }
  - { id: busy_r, kind: rename, inputs: [busy_k], config: { columns: { customer_id: k, event_time: ts } } }
  - { id: busy_wm, kind: watermark, inputs: [busy_r], config: { column: ts } }
  - { id: quiet_wm, kind: watermark, inputs: [quiet], config: { column: ts, idleTimeout: 300ms } }
  - { id: both, kind: union, inputs: [busy_wm, quiet_wm] }
  - { id: w, kind: window_aggregate, inputs: [both], config: { timeColumn: ts, window: { type: tumbling, size: 1m }, aggregates: { n: count() } } }
sinks: [{ id: out, kind: collect, inputs: [w] }]`,
      [silent, collectSink(rows)],
    );
    const { modules } = await loadComponents();
    const job = new Job(plan, { modules });
    const done = job.run();
    // The busy stream covers 400 s of event time; with the quiet input idle, its windows fire while the job runs.
    const deadline = Date.now() + 20_000;
    while (!(rows.get('out')?.length ?? 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const firedWhileRunning = rows.get('out')?.length ?? 0;
    job.stop();
    const result = await done;
    expect(firedWhileRunning).toBeGreaterThan(0);
    expect(result.stopped).toBe(true);
  });
});
