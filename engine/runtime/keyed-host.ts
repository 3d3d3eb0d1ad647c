/**
 * @module runtime/keyed-host
 * One partition of a keyed operator, inside its own worker thread: it owns the key groups assigned to its partition,
 * processes that partition's rows in order, combines watermarks over the operator's inputs (minimum over non-idle
 * inputs) and calls `onWatermark` when event time advances. Every request gets one reply, in order.
 */
import { fromIPC } from '../arrow/ipc.js';
import type { ChainMember } from '../compile/compile.js';
import { schemaFromJson, type SchemaJson } from '../compile/schema-json.js';
import type { AnySpec, KeyedState, OperatorSpec } from '../operator.js';
import { Registry } from '../registry.js';
import { combineWatermarks, type InputWatermark, MAX_WATERMARK, MIN_WATERMARK } from '../time/watermark.js';
import { instantiate, operatorFailure } from './chain.js';
import { BatchCollector } from './collector.js';
import { toExits } from './exits.js';
import type { ChainExit, NodeCounters, PortOutput } from './protocol.js';

export interface KeyedWorkerData {
  readonly modules: readonly string[];
  readonly nodeId: string;
  readonly kind: string;
  readonly rawConfig: unknown;
  readonly inputs: readonly SchemaJson[];
  readonly outputs: ChainMember['outputs'];
  readonly exits: readonly ChainExit[];
  /** State to start from (this partition's key groups, from a checkpoint). */
  readonly restore?: KeyedState;
}

export type KeyedRequest =
  | { readonly seq: number; readonly type: 'batch'; readonly input: number; readonly ipc: Uint8Array; readonly positions?: Float64Array; readonly origin?: string }
  | { readonly seq: number; readonly type: 'watermark'; readonly input: number; readonly ms: number; readonly idle: boolean }
  | { readonly seq: number; readonly type: 'end'; readonly input: number }
  | { readonly seq: number; readonly type: 'tick'; readonly now: number }
  | { readonly seq: number; readonly type: 'snapshot' };

export interface KeyedReply {
  readonly seq: number;
  readonly outputs: PortOutput[];
  readonly counters: NodeCounters;
  /** The partition's event time after this request (forwarded downstream once every partition reached it). */
  readonly watermark?: InputWatermark;
  readonly ended?: boolean;
  /** Reply to `snapshot`: the partition's state. */
  readonly state?: KeyedState;
  readonly error?: { readonly message: string; readonly nodeId?: string };
}

export async function createKeyedHost(data: KeyedWorkerData, importModule: (url: string) => Promise<unknown>) {
  const specs: AnySpec[] = [];
  for (const url of data.modules) specs.push(...(((await importModule(url)) as { abflowComponents?: readonly AnySpec[] }).abflowComponents ?? []));
  const registry = new Registry(specs, { override: true });
  const spec = registry.get('operator', data.kind) as OperatorSpec;
  const outputs = Object.fromEntries(Object.entries(data.outputs).map(([p, s]) => [p, schemaFromJson(s)]));
  const op = instantiate(spec, data.nodeId, data.rawConfig, data.inputs.map(schemaFromJson), outputs);
  if (data.restore) op.restore?.(data.restore);
  const marks: InputWatermark[] = data.inputs.map(() => ({ ms: MIN_WATERMARK, idle: false }));
  let eventTime: InputWatermark = { ms: MIN_WATERMARK, idle: false };
  let ended = 0;

  return async function handle(req: KeyedRequest): Promise<{ reply: KeyedReply; transfer: ArrayBuffer[] }> {
    const counters: NodeCounters = { nodeId: data.nodeId, rowsIn: 0, rowsOut: 0, dead: 0, discarded: 0, busyMs: 0 };
    const empty = fromEmpty();
    const t0 = performance.now();
    let col = new BatchCollector(data.nodeId, empty, undefined, undefined, counters);
    let done = false;
    let state: KeyedState | undefined;
    try {
      if (req.type === 'snapshot') {
        state = op.snapshot?.() ?? { entries: [] };
      } else if (req.type === 'batch') {
        const batch = fromIPC(req.ipc);
        col = new BatchCollector(data.nodeId, batch, req.positions, req.origin, counters);
        counters.rowsIn += batch.numRows;
        await op.processBatch(batch, col, req.input);
      } else if (req.type === 'tick') {
        await op.onTick?.(req.now, col);
      } else {
        if (req.type === 'end') {
          marks[req.input] = { ms: MAX_WATERMARK, idle: false };
          ended++;
        } else marks[req.input] = { ms: Math.max(marks[req.input]!.ms, req.ms), idle: req.idle };
        const next = combineWatermarks(marks);
        if (!next.idle && next.ms > eventTime.ms) await op.onWatermark?.(next.ms, col);
        eventTime = next.idle ? { ms: eventTime.ms, idle: true } : { ms: Math.max(eventTime.ms, next.ms), idle: false };
        if (ended === marks.length) {
          await op.close?.(col);
          done = true;
        }
      }
    } catch (e) {
      const err = operatorFailure(data.nodeId, data.kind, e);
      return { reply: { seq: req.seq, outputs: [], counters, error: { message: err.message, nodeId: data.nodeId } }, transfer: [] };
    }
    counters.busyMs += performance.now() - t0;
    const named = col.emitted.map((e) => ({ ...e, port: `${data.nodeId}.${e.port}` }));
    for (const e of named) if (!data.exits.some((x) => x.port === e.port)) counters.discarded += e.batch.numRows;
    const { wire, transfer } = toExits(named, data.exits);
    return { reply: { seq: req.seq, outputs: wire, counters, watermark: eventTime, ...(done ? { ended: true } : {}), ...(state ? { state } : {}) }, transfer };
  };

  function fromEmpty() {
    return { numRows: 0 } as import('apache-arrow').RecordBatch;
  }
}
