/** `abflow explain` shows the fused chain, partitioning and the schema of every edge. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { abflow, tempDir } from '../kit/cli.js';

describe('abflow explain', () => {
  it('prints fused chains, parallelism, partitioning and edge schemas', () => {
    const r = abflow(['explain', 'plans/payments.yaml']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('chain-1 ×2 in the worker pool, fused: enrich → scored → event_time → alerts → settled_or_failed → by_risk');
    expect(r.stdout).toContain(
      'operator customer_5m [window_aggregate] window=tumbling size=300000 offset=0 aggregates=tx_count_5m, amount_usd_5m keyed by (customer_id) ×2 partitions',
    );
    expect(r.stdout).toMatch(/event_time\.out ─hash\(customer_id\)→ customer_5m {2}\(/);
    expect(r.stdout).toMatch(/payments\.out ─rebalance→ chain-1 {2}\(payment_id: int64, event_time: timestamp, .*injected: string\)/);
    expect(r.stdout).toMatch(
      /by_risk\.large ─forward→ large_payments {2}\(.*amount_usd: float64, is_large: bool, hour_of_day: int64, anomaly_score: float64, _ai_model: string, _ai_version: string\)/,
    );
    expect(r.stdout).toContain('dead_letters → out/payments.dead_letter.jsonl');
  });

  it('runs chains that only pick or rename columns on the coordinating thread, unless they split rows by key', () => {
    expect(abflow(['explain', 'plans/nexmark/q0.yaml']).stdout).toContain('chain-1 on the coordinating thread (columns only), fused: q0');
    expect(abflow(['explain', 'plans/nexmark/q8.yaml']).stdout).toContain('on the coordinating thread (columns only), fused: q8 → named');
    const plan = join(tempDir(), 'keyed.yaml');
    writeFileSync(
      plan,
      `name: keyed
sources: [{ id: gen, kind: generate, config: { generator: payments, count: 10 } }]
operators:
  - { id: t, kind: watermark, inputs: [gen], config: { column: event_time, maxOutOfOrderness: 1s } }
  - { id: w, kind: window_aggregate, inputs: [t], config: { keyBy: [customer_id], timeColumn: event_time, window: { type: tumbling, size: 1m }, aggregates: { n: count() } } }
  - { id: keep, kind: select, inputs: [w], config: { columns: [customer_id, n, window_start, window_end, window_time] } }
  - { id: top, kind: window_top_n, inputs: [keep], config: { keyBy: [window_start, window_end], timeColumn: window_time, orderBy: n } }
sinks: [{ id: out, kind: blackhole, inputs: [top] }]
`,
    );
    // At parallelism 2 the select's output is split by window for the top-n: work per row, so it goes to the pool.
    const p2 = abflow(['explain', plan, '-p', '2']);
    expect(p2.code, p2.stderr).toBe(0);
    expect(p2.stdout).toContain('chain-1 ×2 in the worker pool, fused: t');
    expect(p2.stdout).toContain('chain-2 ×2 in the worker pool, fused: keep');
    expect(abflow(['explain', plan, '-p', '1']).stdout).toContain('chain-2 on the coordinating thread (columns only), fused: keep');
  });

  it('follows --parallelism and renders Mermaid', () => {
    expect(abflow(['explain', 'plans/payments.yaml', '-p', '4']).stdout).toContain('chain-1 ×4');
    const m = abflow(['explain', 'plans/payments.yaml', '--format', 'mermaid']);
    expect(m.stdout.startsWith('flowchart LR\n')).toBe(true);
    expect(m.stdout).toContain('subgraph chain_1["chain-1 ×2 (fused)"]');
    expect(m.stdout).toContain('by_risk -->|"large (forward)"| large_payments');
  });
});
