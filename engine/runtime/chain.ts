/**
 * @module runtime/chain
 * Runs a fused chain (a tree of stateless operators) over one batch. Used inside pool workers; the coordinating thread
 * runs `single` operators through the same collector, so both paths count and report identically.
 */
import type { RecordBatch, Schema } from 'apache-arrow';
import type { ChainMember } from '../compile/compile.js';
import { schemaFromJson } from '../compile/schema-json.js';
import { AbflowError, isAbflowError } from '../errors.js';
import type { Operator, OperatorSpec } from '../operator.js';
import type { Registry } from '../registry.js';
import { BatchCollector, type Emitted } from './collector.js';
import { type NodeCounters, zeroCounters } from './protocol.js';

export interface ChainOutput {
  readonly port: string;
  readonly batch: RecordBatch;
  readonly positions: Float64Array | undefined;
}

interface Live {
  readonly member: ChainMember;
  readonly op: Operator;
}

/** Creates an operator from its spec and raw config (the config is parsed again here, so defaults match). */
export function instantiate(spec: OperatorSpec, nodeId: string, rawConfig: unknown, inputs: Schema[], outputs: Record<string, Schema>): Operator {
  const cfg = spec.config.parse(rawConfig);
  return spec.create(cfg, { nodeId, inputs, outputs });
}

export function operatorFailure(nodeId: string, kind: string, e: unknown): AbflowError {
  if (isAbflowError(e) && e.nodeId) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new AbflowError('operator_failed', `operator '${nodeId}' (${kind}) failed: ${msg}`, { nodeId, cause: e, domain: isAbflowError(e) ? e.domain : 'internal' });
}

export class ChainExecutor {
  private readonly live: Live[];
  private readonly external: Set<string>;
  /** `node.port`s read by another member of the chain. */
  private readonly internal: Set<string>;

  constructor(members: readonly ChainMember[], external: readonly string[], registry: Registry) {
    this.external = new Set(external);
    this.internal = new Set(members.filter((m) => m.from.member >= 0).map((m) => `${members[m.from.member]!.nodeId}.${m.from.port}`));
    this.live = members.map((m) => {
      const spec = registry.get('operator', m.kind);
      if (!spec) throw new AbflowError('internal', `operator kind \`${m.kind}\` is not registered in the worker`, { nodeId: m.nodeId, domain: 'internal' });
      const outputs = Object.fromEntries(Object.entries(m.outputs).map(([p, s]) => [p, schemaFromJson(s)]));
      try {
        return { member: m, op: instantiate(spec, m.nodeId, m.rawConfig, [schemaFromJson(m.inputSchema)], outputs) };
      } catch (e) {
        throw operatorFailure(m.nodeId, m.kind, e);
      }
    });
  }

  async run(batch: RecordBatch, positions: Float64Array | undefined, origin: string | undefined): Promise<{ outputs: ChainOutput[]; counters: NodeCounters[]; watermark: number }> {
    let watermark = -Infinity;
    const produced: Emitted[][] = [];
    const counters: NodeCounters[] = [];
    const outputs: ChainOutput[] = [];
    for (let k = 0; k < this.live.length; k++) {
      const { member, op } = this.live[k]!;
      const c = zeroCounters(member.nodeId);
      counters.push(c);
      const inputs: { batch: RecordBatch; positions: Float64Array | undefined }[] =
        member.from.member < 0 ? [{ batch, positions }] : produced[member.from.member]!.filter((e) => e.port === member.from.port);
      const emitted: Emitted[] = [];
      for (const input of inputs) {
        const col = new BatchCollector(member.nodeId, input.batch, input.positions, origin, c);
        c.rowsIn += input.batch.numRows;
        const t0 = performance.now();
        try {
          await op.processBatch(input.batch, col, 0);
        } catch (e) {
          throw operatorFailure(member.nodeId, member.kind, e);
        }
        c.busyMs += performance.now() - t0;
        emitted.push(...col.emitted);
        if (col.watermark > watermark) watermark = col.watermark;
      }
      produced.push(emitted);
      for (const e of emitted) {
        const key = `${member.nodeId}.${e.port}`;
        if (this.external.has(key)) outputs.push({ port: key, batch: e.batch, positions: e.positions });
        else if (!this.internal.has(key)) c.discarded += e.batch.numRows;
      }
    }
    return { outputs, counters, watermark };
  }
}
