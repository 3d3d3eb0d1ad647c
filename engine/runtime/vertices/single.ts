/**
 * @module runtime/vertices/single
 * Drives a `single` operator (one instance on the coordinating thread, e.g. union): inputs read with barriers
 * aligned, event time combined over the inputs, the operator closed after its last input ended.
 */
import type { Vertex } from '../../compile/compile.js';
import type { OperatorSpec } from '../../operator.js';
import { EventTime } from '../../time/watermark.js';
import { readAligned } from '../align.js';
import type { BatchCollector } from '../collector.js';
import { ObservedOperator } from '../observed.js';
import type { VertexRuntime } from './runtime.js';

export async function runSingle(v: Extract<Vertex, { type: 'single' }>, rt: VertexRuntime): Promise<void> {
  const n = v.node;
  const m = rt.metrics.node(n.id);
  const op = ObservedOperator.create(n.spec as OperatorSpec, n.id, n.rawConfig, [...n.inputSchemas], { ...n.outputs }, rt.clock);
  const inputs = rt.wiring.inputs(v.id);
  const eventTime = new EventTime(inputs.length);
  const flush = async (col: BatchCollector, origin?: string) => {
    const counters = op.take();
    for (const e of col.emitted) {
      const port = `${n.id}.${e.port}`;
      if (!rt.wiring.consumes(v.id, port)) counters.discarded += e.batch.numRows;
    }
    rt.count([counters]);
    const extra = op.metrics();
    if (extra) m.extra = extra;
    for (const e of col.emitted)
      await rt.wiring.emit(v.id, `${n.id}.${e.port}`, {
        t: 'batch',
        batch: e.batch,
        ...(e.positions ? { positions: e.positions } : {}),
        ...(origin ? { origin } : {}),
      });
  };
  await readAligned(
    inputs,
    async (el, i) => {
      if (el.t === 'batch') return flush(await op.batch(el.batch, el.positions, el.origin, i), el.origin);
      if (el.t === 'watermark') eventTime.watermark(i, el.ms, el.idle === true);
      else eventTime.end(i);
      const change = eventTime.advance();
      if (change && !change.idle) await flush(await op.watermark(change.ms));
      if (change) await rt.wiring.broadcast(v.id, { t: 'watermark', ms: change.ms, ...(change.idle ? { idle: true } : {}) });
      if (el.t === 'end' && eventTime.allEnded) {
        await flush(await op.close());
        await rt.wiring.broadcast(v.id, { t: 'end' });
      }
    },
    async (id) => {
      rt.coordinator?.ack(v.id, id);
      await rt.wiring.broadcast(v.id, { t: 'barrier', id });
    },
  );
}
