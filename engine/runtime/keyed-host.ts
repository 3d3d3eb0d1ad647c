/**
 * @module runtime/keyed-host
 * A keyed thread: it hosts partition k of every keyed vertex of the job (Flink's slot sharing), each opened by an
 * `open` request. A partition owns the key groups assigned to it, processes its rows in order, combines watermarks
 * over its operator's inputs (`EventTime`) and calls `onWatermark` when event time advances. Every request gets one
 * reply, in order; the operator runs inside the `observed` wrapper.
 */
import { fromIPC } from '../arrow/ipc.js';
import type { ChainMember } from '../compile/compile.js';
import { schemaFromJson, type SchemaJson } from '../compile/schema-json.js';
import type { AnySpec, KeyedState, OperatorSpec } from '../operator.js';
import { Registry } from '../registry.js';
import { EventTime, type InputWatermark } from '../time/watermark.js';
import type { Emitted } from './collector.js';
import { ObservedOperator, operatorFailure } from './observed.js';
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

/** @public Imported by URL (keyed-worker.ts), which static analysis cannot follow. */
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
      return failed(req, req.data.nodeId, counters, operatorFailure(req.data.nodeId, req.data.kind, e));
    }
  };
}

function failed(req: KeyedRequest, nodeId: string, counters: NodeCounters, e: unknown): Handled {
  return { reply: { seq: req.seq, vertex: req.vertex, outputs: [], counters, error: { message: (e as Error).message, nodeId } }, transfer: [] };
}

function openPartition(registry: Registry, data: KeyedVertexData) {
  const spec = registry.get('operator', data.kind) as OperatorSpec;
  const outputs = Object.fromEntries(Object.entries(data.outputs).map(([p, s]) => [p, schemaFromJson(s)]));
  const op = ObservedOperator.create(spec, data.nodeId, data.rawConfig, data.inputs.map(schemaFromJson), outputs);
  if (data.restore) op.restore(data.restore);
  const eventTime = new EventTime(data.inputs.length);

  /** Handles one request; what it emitted, and whether the partition ended or snapshotted. */
  async function run(req: Exclude<KeyedRequest, { type: 'open' }>): Promise<{ emitted: Emitted[]; state?: KeyedState; ended?: boolean }> {
    if (req.type === 'snapshot') return { emitted: [], state: op.snapshot() };
    if (req.type === 'batch') return { emitted: (await op.batch(fromIPC(req.ipc), req.positions, req.origin, req.input)).emitted };
    if (req.type === 'tick') return { emitted: (await op.tick(req.now)).emitted };
    if (req.type === 'end') eventTime.end(req.input);
    else eventTime.watermark(req.input, req.ms, req.idle);
    const change = eventTime.advance();
    const emitted = change && !change.idle ? (await op.watermark(change.ms)).emitted : [];
    if (!eventTime.allEnded) return { emitted };
    return { emitted: [...emitted, ...(await op.close()).emitted], ended: true };
  }

  return async function handle(req: Exclude<KeyedRequest, { type: 'open' }>): Promise<Handled> {
    let result;
    try {
      result = await run(req);
    } catch (e) {
      return failed(req, data.nodeId, op.take(), e);
    }
    const counters = op.take();
    const named = result.emitted.map((e) => ({ ...e, port: `${data.nodeId}.${e.port}` }));
    for (const e of named) if (!data.exits.some((x) => x.port === e.port)) counters.discarded += e.batch.numRows;
    const { wire, transfer } = toExits(named, data.exits);
    return {
      reply: {
        seq: req.seq,
        vertex: req.vertex,
        outputs: wire,
        counters,
        watermark: eventTime.current,
        ...(result.ended ? { ended: true } : {}),
        ...(result.state ? { state: result.state } : {}),
      },
      transfer,
    };
  };
}
