/**
 * Window-state memory per key: one window_aggregate partition holding 1 M distinct keys in an open tumbling window
 * (count + sum per key), heap measured before and after with forced GC (`node --expose-gc`).
 */
import { batchFromRows, schemaOf } from '../engine/api.js';
import type { Collector } from '../engine/operator.js';
import { windowAggregate } from '../operators/windowed/window-aggregate.js';
import type { Row } from './report.js';
import { systemClock } from '../engine/time/clock.js';

const schema = schemaOf({ key: 'string', ts: 'timestamp', amount: 'float64' });
const collector: Collector = { emit() {}, deadLetter() {}, emitWatermark() {} };

function heap(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

export async function windowStateBench(keys: number): Promise<Row[]> {
  const rows: Row[] = [];
  for (const [label, aggregates] of [
    ['count + sum', { n: 'count()', total: 'sum(amount)' }],
    ['count + sum + avg + max', { n: 'count()', total: 'sum(amount)', mean: 'avg(amount)', top: 'max(amount)' }],
  ] as const) {
    const cfg = windowAggregate.config.parse({ keyBy: ['key'], timeColumn: 'ts', window: { type: 'tumbling', size: '1h' }, aggregates });
    const outputs = windowAggregate.outputSchemas(cfg, [schema]);
    const before = heap();
    const op = windowAggregate.create(cfg, { nodeId: 'w', inputs: [schema], outputs, clock: systemClock });
    const t0 = performance.now();
    for (let first = 0; first < keys; first += 8192) {
      const n = Math.min(8192, keys - first);
      const batch = batchFromRows(
        schema,
        Array.from({ length: n }, (_, i) => ({ key: `customer-${first + i}`, ts: 1_700_000_000_000 + i, amount: i % 100 })),
      );
      await op.processBatch(batch, collector, 0);
    }
    const ms = performance.now() - t0;
    const bytes = heap() - before;
    rows.push({
      scenario: 'window-state',
      name: `${keys / 1e6} M keys, ${label}: ${(bytes / keys).toFixed(0)} bytes/key, ${(bytes / 2 ** 20).toFixed(0)} MiB`,
      recordsPerSec: (keys / ms) * 1000,
    });
    await op.onWatermark?.(Number.MAX_SAFE_INTEGER, collector); // release
  }
  return rows;
}
