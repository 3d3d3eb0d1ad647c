/**
 * @module runtime/metrics
 * A job's counters per plan node: what the run summary prints, the service's API and Prometheus read, and the
 * dead-letter ratio is checked against. Vertices report `NodeCounters` (from the `observed` wrapper); this module
 * only adds them up.
 */
import type { CompiledPlan, Vertex } from '../compile/compile.js';
import type { NodeCounters } from './protocol.js';

export interface NodeMetrics {
  readonly id: string;
  readonly kind: string;
  readonly role: 'source' | 'operator' | 'sink' | 'dead_letters';
  /** A source whose raw input is decoded in the pool: rowsIn counts raw records (lines), rowsOut decoded rows. */
  readonly decoded: boolean;
  rowsIn: number;
  rowsOut: number;
  dead: number;
  discarded: number;
  busyMs: number;
  /** The operator's own counters (`Operator.metrics`). */
  extra?: Record<string, number>;
  /** Event time the node last forwarded (ms), where watermarks pass through it. */
  watermarkMs?: number;
  /** Processing time per batch, in ms buckets (`BATCH_MS_BUCKETS`, cumulative counts as Prometheus wants). */
  batchMs?: { counts: number[]; sum: number; count: number };
}

/** Upper bounds (ms) of the per-batch processing-time histogram. */
export const BATCH_MS_BUCKETS = [0.1, 0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000];

/** The plan node ids a vertex runs (a chain runs several; a raw source is counted under its plan id). */
export function nodesOfVertex(v: Vertex): string[] {
  if (v.type === 'chain') return v.members.map((m) => m.nodeId);
  return [v.node.decodedBy ?? v.node.id];
}

export class JobMetrics {
  private readonly nodes = new Map<string, NodeMetrics>();
  private readonly vertexNodes = new Map<string, string[]>();

  constructor(plan: CompiledPlan) {
    const zero = { rowsIn: 0, rowsOut: 0, dead: 0, discarded: 0, busyMs: 0 };
    const raw = new Map(plan.nodes.filter((n) => n.decodedBy).map((n) => [n.decodedBy!, n]));
    for (const n of plan.nodes) {
      if (n.decodedBy) continue;
      const src = raw.get(n.id);
      this.nodes.set(
        n.id,
        src ? { id: n.id, kind: src.kind, role: 'source', decoded: true, ...zero } : { id: n.id, kind: n.kind, role: n.role, decoded: false, ...zero },
      );
    }
    // The job's dead-letter file, a sink the compiler added, is shown apart from the plan's sinks.
    for (const v of plan.physical.vertices)
      if (v.type === 'sink' && v.deadLetters) this.nodes.set(v.id, { id: v.id, kind: 'file', role: 'dead_letters', decoded: false, ...zero });
    for (const v of plan.physical.vertices)
      this.vertexNodes.set(
        v.id,
        nodesOfVertex(v).filter((id) => this.nodes.has(id)),
      );
  }

  node(id: string): NodeMetrics {
    return this.nodes.get(id)!;
  }

  /** The plan nodes vertex `id` runs. */
  nodesOf(id: string): readonly string[] {
    return this.vertexNodes.get(id) ?? [];
  }

  /** Adds a batch's counters; returns whether any row became a dead letter. */
  count(counters: readonly NodeCounters[]): boolean {
    let dead = false;
    for (const c of counters) {
      dead ||= c.dead > 0;
      const m = this.nodes.get(c.nodeId);
      if (!m) continue;
      m.rowsIn += c.rowsIn;
      m.rowsOut += c.rowsOut;
      m.dead += c.dead;
      m.discarded += c.discarded;
      m.busyMs += c.busyMs;
      if (c.rowsIn > 0) observe(m, c.busyMs);
    }
    return dead;
  }

  /** Records the event time vertex `id` forwarded. */
  watermark(id: string, ms: number): void {
    for (const n of this.nodesOf(id)) this.nodes.get(n)!.watermarkMs = ms;
  }

  /** Rows read (decoded rows of decoded sources count their raw records) and rows written. */
  totals(): { rowsIn: number; rowsOut: number; deadLetters: number } {
    let rowsIn = 0;
    let rowsOut = 0;
    let deadLetters = 0;
    for (const m of this.nodes.values()) {
      if (m.role === 'source') rowsIn += m.decoded ? m.rowsIn : m.rowsOut;
      if (m.role === 'sink') rowsOut += m.rowsIn;
      deadLetters += m.dead;
    }
    return { rowsIn, rowsOut, deadLetters };
  }

  /** A copy of every node's counters. */
  snapshot(): NodeMetrics[] {
    return [...this.nodes.values()].map((m) => ({
      ...m,
      ...(m.extra ? { extra: { ...m.extra } } : {}),
      ...(m.batchMs ? { batchMs: { ...m.batchMs, counts: [...m.batchMs.counts] } } : {}),
    }));
  }
}

function observe(m: NodeMetrics, ms: number): void {
  const h = (m.batchMs ??= { counts: new Array<number>(BATCH_MS_BUCKETS.length).fill(0), sum: 0, count: 0 });
  for (let i = 0; i < BATCH_MS_BUCKETS.length; i++) if (ms <= BATCH_MS_BUCKETS[i]!) h.counts[i]!++;
  h.sum += ms;
  h.count++;
}
