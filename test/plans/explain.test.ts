/** `abflow explain` shows the fused chain, partitioning and the schema of every edge. */
import { describe, expect, it } from 'vitest';
import { abflow } from '../kit/cli.js';

describe('abflow explain', () => {
  it('prints fused chains, parallelism, partitioning and edge schemas', () => {
    const r = abflow(['explain', 'plans/payments.yaml']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('chain-1 ×2 in the worker pool, fused: enrich → scored → event_time → alerts → settled_or_failed → by_risk');
    expect(r.stdout).toContain('operator customer_5m [window_aggregate] window=tumbling size=300000 offset=0 aggregates=tx_count_5m, amount_usd_5m keyed by (customer_id) ×2 partitions');
    expect(r.stdout).toMatch(/event_time\.out ─hash\(customer_id\)→ customer_5m {2}\(/);
    expect(r.stdout).toMatch(/payments\.out ─rebalance→ chain-1 {2}\(payment_id: int64, event_time: timestamp, .*injected: string\)/);
    expect(r.stdout).toMatch(/by_risk\.large ─forward→ large_payments {2}\(.*amount_usd: float64, is_large: bool, hour_of_day: int64, anomaly_score: float64, _ai_model: string, _ai_version: string\)/);
    expect(r.stdout).toContain('dead_letters → out/payments.dead_letter.jsonl');
  });

  it('follows --parallelism and renders Mermaid', () => {
    expect(abflow(['explain', 'plans/payments.yaml', '-p', '4']).stdout).toContain('chain-1 ×4');
    const m = abflow(['explain', 'plans/payments.yaml', '--format', 'mermaid']);
    expect(m.stdout.startsWith('flowchart LR\n')).toBe(true);
    expect(m.stdout).toContain('subgraph chain_1["chain-1 ×2 (fused)"]');
    expect(m.stdout).toContain('by_risk -->|"large (forward)"| large_payments');
  });
});
