/**
 * @module runtime/keyed-host
 * A keyed thread: it hosts partition k of every keyed vertex of the job (Flink's slot sharing), each opened by an
 * `open` request. A partition owns the key groups assigned to it, processes its rows in order, combines watermarks
 * over its operator's inputs (minimum over non-idle inputs) and calls `onWatermark` when event time advances. Every
 * request gets one reply, in order.
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
import { type ChainExit, type NodeCounters, type PortOutput, zeroCounters } from './protocol.js';

/** What a keyed thread starts with: the component modules, loaded once for every vertex it hosts. */
export interface KeyedThreadData {
  readonly modules: readonly string[];
}

/** One keyed vertex's partition, opened on a keyed thread. */
export interface KeyedVertexData {
  readonly nodeId: string;
  readonly kind: string;
  readonly rawConfig: unknown;
  readonly inputs: readonly SchemaJson[];
  readonly outputs: ChainMember['outputs'];
  readonly exits: readonly ChainExit[];
  /** State to start from (this partition's key groups, from a checkpoint). */
  readonly restore?: KeyedState;
}

/** A request to one vertex's partition; `vertex` names it, `seq` orders its replies. */
export type KeyedRequest = { readonly seq: number; readonly vertex: string } & (
  | { readonly type: 'open'; readonly data: KeyedVertexData }
  | { readonly type: 'batch'; readonly input: number; readonly ipc: Uint8Array; readonly positions?: Float64Array; readonly origin?: string }
  | { readonly type: 'watermark'; readonly input: number; readonly ms: number; readonly idle: boolean }
  | { readonly type: 'end'; readonly input: number }
  | { readonly type: 'tick'; readonly now: number }
  | { readonly type: 'snapshot' }
);

export interface KeyedReply {
  readonly seq: number;
  readonly vertex: string;
  readonly outputs: PortOutput[];
  readonly counters: NodeCounters;
  /** The partition's event time after this request (forwarded downstream once every partition reached it). */
  readonly watermark?: InputWatermark;
  readonly ended?: boolean;
  /** Reply to `snapshot`: the partition's state. */
  readonly state?: KeyedState;
  readonly error?: { readonly message: string; readonly nodeId?: string };
}

type Handled = { reply: KeyedReply; transfer: ArrayBuffer[] };

export async function createKeyedHost(data: KeyedThreadData, importModule: (url: string) => Promise<unknown>) {
  const specs: AnySpec[] = [];
  for (const url of data.modules) specs.push(...(((await importModule(url)) as { abflowComponents?: readonly AnySpec[] }).abflowComponents ?? []));
  const registry = new Registry(specs, { override: true });
  const vertices = new Map<string, (req: Exclude<KeyedRequest, { type: 'open' }>) => Promise<Handled>>();

  return async function handle(req: KeyedRequest): Promise<Handled> {
    if (req.type !== 'open') return vertices.get(req.vertex)!(req);
    const counters = zeroCounters(req.data.nodeId);
    try {
      vertices.set(req.vertex, openPartition(registry, req.data));
      return { reply: { seq: req.seq, vertex: req.vertex, outputs: [], counters }, transfer: [] };
    } catch (e) {
      return failed(req, req.data, counters, e);
    }
  };
}

function failed(req: KeyedRequest, data: KeyedVertexData, counters: NodeCounters, e: unknown): Handled {
  const err = operatorFailure(data.nodeId, data.kind, e);
  return { reply: { seq: req.seq, vertex: req.vertex, outputs: [], counters, error: { message: err.message, nodeId: data.nodeId } }, transfer: [] };
}

function openPartition(registry: Registry, data: KeyedVertexData) {
  const spec = registry.get('operator', data.kind) as OperatorSpec;
  const outputs = Object.fromEntries(Object.entries(data.outputs).map(([p, s]) => [p, schemaFromJson(s)]));
  const op = instantiate(spec, data.nodeId, data.rawConfig, data.inputs.map(schemaFromJson), outputs);
  if (data.restore) op.restore?.(data.restore);
  const marks: InputWatermark[] = data.inputs.map(() => ({ ms: MIN_WATERMARK, idle: false }));
  let eventTime: InputWatermark = { ms: MIN_WATERMARK, idle: false };
  let ended = 0;

  return async function handle(req: Exclude<KeyedRequest, { type: 'open' }>): Promise<Handled> {
    const counters = zeroCounters(data.nodeId);
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
      return failed(req, data, counters, e);
    }
    counters.busyMs += performance.now() - t0;
    const named = col.emitted.map((e) => ({ ...e, port: `${data.nodeId}.${e.port}` }));
    for (const e of named) if (!data.exits.some((x) => x.port === e.port)) counters.discarded += e.batch.numRows;
    const { wire, transfer } = toExits(named, data.exits);
    return { reply: { seq: req.seq, vertex: req.vertex, outputs: wire, counters, watermark: eventTime, ...(done ? { ended: true } : {}), ...(state ? { state } : {}) }, transfer };
  };

  function fromEmpty() {
    return { numRows: 0 } as import('apache-arrow').RecordBatch;
  }
}
