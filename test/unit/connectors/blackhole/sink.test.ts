/**
 * End-to-end latency measurement (blackhole `latencyFrom`) and wall-clock event times (generate `start: now`), the
 * pieces of the latency benchmark. Percentiles come from a fixed-width histogram; timings themselves are not
 * asserted (shared machines), only their consistency.
 */
import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../../../../connectors/blackhole/sink.js';
import { compileText, runText } from '../../../kit/run.js';

describe('LatencyHistogram', () => {
  it('returns the upper edge of the bucket holding each quantile', () => {
    const h = new LatencyHistogram();
    for (let i = 1; i <= 100; i++) h.add(i); // 1 … 100 ms
    expect(h.quantile(0.5)).toBeCloseTo(50.1, 6);
    expect(h.quantile(0.99)).toBeCloseTo(99.1, 6);
    expect(h.max).toBe(100);
    expect(h.count).toBe(100);
  });

  it('clamps negative and huge latencies into the first and last bucket', () => {
    const h = new LatencyHistogram();
    h.add(-5);
    h.add(10 * 60_000);
    expect(h.quantile(0.5)).toBeCloseTo(0.1, 6);
    expect(h.quantile(1)).toBeCloseTo(60_000, 6);
    expect(h.max).toBe(600_000);
  });
});

describe('blackhole latencyFrom with a paced generate source started now', () => {
  it('stamps event times on the wall clock and reports consistent latency percentiles', async () => {
    const before = Date.now();
    const { result, rows } = await runText(`
name: latency
engine: { parallelism: 1, batchSize: 1000, linger: 10ms }
sources:
  - { id: p, kind: generate, config: { generator: payments, count: 2000, start: now, rowsPerSecond: 4000, options: { eventsPerSecond: 4000, lateFraction: 0 } } }
sinks:
  - { id: lat, kind: blackhole, inputs: [p], config: { latencyFrom: event_time } }
  - { id: rows, kind: collect, inputs: [p] }
`);
    const after = Date.now();
    const m = result.nodes.find((n) => n.id === 'lat')!.extra!;
    expect(m.latency_p50_ms).toBeGreaterThan(0);
    expect(m.latency_p50_ms).toBeLessThanOrEqual(m.latency_p99_ms!);
    expect(m.latency_p99_ms! - 0.1).toBeLessThanOrEqual(m.latency_max_ms!);
    expect(m.latency_max_ms).toBeLessThan(after - before);
    expect(result.rowsOut).toBe(4000);
    const times = rows.get('rows')!.map((r) => Date.parse(r.event_time as string));
    expect(times[0]).toBeGreaterThanOrEqual(before);
    expect(Math.abs(times[1999]! - times[0]! - 1999 / 4)).toBeLessThan(1); // 4000 events per second of event time
    expect(times[1999]).toBeLessThanOrEqual(after);
  });

  it('refuses a latency column that is not a timestamp, naming the config path', async () => {
    await expect(
      compileText(`
name: bad
sources: [{ id: p, kind: generate, config: { generator: payments, count: 10 } }]
sinks: [{ id: lat, kind: blackhole, inputs: [p], config: { latencyFrom: amount } }]
`),
    ).rejects.toThrow(/`amount` is float64; latency is measured from a timestamp column/);
  });
});
