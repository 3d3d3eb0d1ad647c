/**
 * A job's counters (runtime/metrics.ts): which plan nodes a vertex reports for, how a raw source and its decoder
 * show as one source, where the job's dead-letter file goes, the run's totals and the per-batch time histogram.
 * The golden plans pin the counters of whole runs (counters.json); this pins the arithmetic on hand-made counters.
 */
import { describe, expect, it } from 'vitest';
import type { CompiledPlan } from '../../../../engine/compile/compile.js';
import { BATCH_MS_BUCKETS, JobMetrics, nodesOfVertex } from '../../../../engine/runtime/metrics.js';
import { zeroCounters } from '../../../../engine/runtime/protocol.js';

// A raw jsonl source decoded in the pool (`orders__raw` feeds `orders`), a chain of two operators, a sink and the
// job's dead-letter file.
const nodes = [
  { id: 'orders__raw', decodedBy: 'orders', role: 'source', kind: 'jsonl' },
  { id: 'orders', role: 'operator', kind: 'jsonl_decode' },
  { id: 'gen', role: 'source', kind: 'generate' },
  { id: 'clean', role: 'operator', kind: 'filter' },
  { id: 'enrich', role: 'operator', kind: 'derive' },
  { id: 'out', role: 'sink', kind: 'duckdb' },
];
const plan = {
  nodes,
  physical: {
    vertices: [
      { type: 'source', id: 'orders__raw', node: nodes[0] },
      { type: 'source', id: 'gen', node: nodes[2] },
      { type: 'chain', id: 'chain-1', members: [{ nodeId: 'orders' }, { nodeId: 'clean' }, { nodeId: 'enrich' }] },
      { type: 'sink', id: 'out', node: nodes[5] },
      { type: 'sink', id: 'dead_letters', node: { id: 'dead_letters' }, deadLetters: true },
    ],
  },
} as unknown as CompiledPlan;

const counters = (nodeId: string, c: Partial<ReturnType<typeof zeroCounters>>) => ({ ...zeroCounters(nodeId), ...c });

describe('JobMetrics', () => {
  it('shows a decoded source under its plan id, with the kind of the source, and the dead-letter file apart', () => {
    const m = new JobMetrics(plan);
    expect(m.snapshot().map((n) => [n.id, n.kind, n.role, n.decoded])).toEqual([
      ['orders', 'jsonl', 'source', true],
      ['gen', 'generate', 'source', false],
      ['clean', 'filter', 'operator', false],
      ['enrich', 'derive', 'operator', false],
      ['out', 'duckdb', 'sink', false],
      ['dead_letters', 'file', 'dead_letters', false],
    ]);
    expect(m.nodesOf('orders__raw')).toEqual(['orders']);
    expect(m.nodesOf('chain-1')).toEqual(['orders', 'clean', 'enrich']);
    expect(m.nodesOf('nothing')).toEqual([]);
    expect(nodesOfVertex(plan.physical.vertices[2]!)).toEqual(['orders', 'clean', 'enrich']);
    expect(nodesOfVertex(plan.physical.vertices[0]!)).toEqual(['orders']);
    expect(nodesOfVertex(plan.physical.vertices[1]!)).toEqual(['gen']);
  });

  it('adds counters up, says whether a batch dead-lettered, and totals rows in (raw lines of decoded sources) and out', () => {
    const m = new JobMetrics(plan);
    expect(m.count([counters('orders', { rowsIn: 10, rowsOut: 9, dead: 0 }), counters('unknown', { rowsIn: 5, dead: 3 })])).toBe(true);
    expect(m.count([counters('orders', { rowsIn: 5, rowsOut: 4, dead: 1, discarded: 2, busyMs: 3 })])).toBe(true);
    expect(m.count([counters('gen', { rowsIn: 0, rowsOut: 7 }), counters('clean', { rowsIn: 13, rowsOut: 11, discarded: 1 })])).toBe(false);
    expect(m.count([counters('out', { rowsIn: 11 }), counters('dead_letters', { rowsIn: 1 })])).toBe(false);
    const orders = m.node('orders');
    expect([orders.rowsIn, orders.rowsOut, orders.dead, orders.discarded, orders.busyMs]).toEqual([15, 13, 1, 2, 3]);
    expect(m.node('clean').discarded).toBe(1);
    // orders counts its 15 raw lines, gen its 7 generated rows; the dead-letter file is not a plan sink.
    expect(m.totals()).toEqual({ rowsIn: 22, rowsOut: 11, deadLetters: 1 });
  });

  it('keeps a histogram of batch times (cumulative, as Prometheus buckets are) for batches that had rows', () => {
    const m = new JobMetrics(plan);
    m.count([counters('clean', { rowsIn: 1, busyMs: 0.1 })]);
    m.count([counters('clean', { rowsIn: 1, busyMs: 3 })]);
    m.count([counters('clean', { rowsIn: 1, busyMs: 6000 })]);
    m.count([counters('clean', { rowsIn: 0, busyMs: 1 })]);
    const h = m.node('clean').batchMs!;
    expect(h.counts).toEqual(BATCH_MS_BUCKETS.map((le) => (le >= 3 ? 2 : 1)));
    expect(h.sum).toBe(6003.1);
    expect(h.count).toBe(3);
    expect(m.node('enrich').batchMs).toBeUndefined();
  });

  it('records the watermark on every node of the vertex, and snapshots are copies', () => {
    const m = new JobMetrics(plan);
    m.watermark('chain-1', 1234);
    expect(['orders', 'clean', 'enrich', 'gen'].map((id) => m.node(id).watermarkMs)).toEqual([1234, 1234, 1234, undefined]);
    m.count([counters('clean', { rowsIn: 1, busyMs: 1 })]);
    m.node('clean').extra = { late: 1 };
    const snap = m.snapshot();
    m.count([counters('clean', { rowsIn: 1, busyMs: 1 })]);
    m.node('clean').extra!.late = 2;
    const clean = snap.find((n) => n.id === 'clean')!;
    expect([clean.rowsIn, clean.extra, clean.batchMs!.count, clean.batchMs!.counts[2]]).toEqual([1, { late: 1 }, 1, 1]);
    expect(snap.find((n) => n.id === 'enrich')!.extra).toBeUndefined();
  });
});
