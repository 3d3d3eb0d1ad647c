/**
 * @module runtime/collector
 * The `Collector` handed to operators. It keeps row lineage so dead letters anywhere in a chain still carry their
 * source position, builds dead-letter batches, and counts rows for the node's metrics.
 */
import type { RecordBatch } from 'apache-arrow';
import { ColumnBuilder, makeBatch, rowObject } from '../arrow/columns.js';
import { DEAD_LETTER_PORT, DEAD_LETTER_SCHEMA } from '../deadletter.js';
import type { Collector } from '../operator.js';
import type { NodeCounters } from './protocol.js';

export interface Emitted {
  readonly port: string;
  readonly batch: RecordBatch;
  readonly positions: Float64Array | undefined;
}

export class BatchCollector implements Collector {
  readonly emitted: Emitted[] = [];
  /** Highest watermark candidate emitted (watermark generators), or -Infinity. */
  watermark = -Infinity;

  constructor(
    private readonly nodeId: string,
    private readonly input: RecordBatch,
    private readonly positions: Float64Array | undefined,
    private readonly origin: string | undefined,
    private readonly counters: NodeCounters,
  ) {}

  emit(batch: RecordBatch, port = 'out', rows?: Int32Array): void {
    if (batch.numRows === 0) return;
    let positions: Float64Array | undefined;
    if (this.positions) {
      if (rows) {
        positions = new Float64Array(rows.length);
        for (let i = 0; i < rows.length; i++) positions[i] = this.positions[rows[i]!]!;
      } else if (batch.numRows === this.input.numRows) positions = this.positions;
    }
    this.counters.rowsOut += batch.numRows;
    this.emitted.push({ port, batch, positions });
  }

  emitWatermark(ms: number): void {
    if (ms > this.watermark) this.watermark = ms;
  }

  deadLetter(rows: ArrayLike<number>, reasons: readonly string[], raw?: readonly string[]): void {
    const n = rows.length;
    if (n === 0) return;
    const cols = {
      node: new ColumnBuilder('string', n),
      reason: new ColumnBuilder('string', n),
      source: new ColumnBuilder('string', n),
      position: new ColumnBuilder('int64', n),
      raw: new ColumnBuilder('string', n),
    };
    const positions = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      const row = rows[k]!;
      cols.node.appendString(this.nodeId);
      cols.reason.appendString(reasons[k] ?? 'unknown reason');
      if (this.origin) cols.source.appendString(this.origin);
      else cols.source.appendNull();
      const pos = this.positions?.[row];
      if (pos === undefined) cols.position.appendNull();
      else cols.position.appendNumber(pos);
      positions[k] = pos ?? -1;
      cols.raw.appendString(raw?.[k] ?? safeJson(rowObject(this.input, row)));
    }
    this.counters.dead += n;
    const batch = makeBatch(
      DEAD_LETTER_SCHEMA,
      Object.values(cols).map((c) => c.finish()),
      n,
    );
    this.emitted.push({ port: DEAD_LETTER_PORT, batch, positions: this.positions ? positions : undefined });
  }
}

function safeJson(row: Record<string, unknown>): string {
  return JSON.stringify(row, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}
