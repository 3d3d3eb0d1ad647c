/**
 * @module runtime/chain
 * Runs a fused chain (a tree of stateless operators) over one batch: in pool workers, or on the coordinating thread
 * for a chain of columns-only operators. Each member runs inside the `observed` wrapper.
 */
import type { RecordBatch } from 'apache-arrow';
import type { ChainMember } from '../compile/compile.js';
import { schemaFromJson } from '../compile/schema-json.js';
import { AbflowError } from '../errors.js';
import type { OperatorSpec } from '../operator.js';
import type { Registry } from '../registry.js';
import type { Emitted } from './collector.js';
import { ObservedOperator } from './observed.js';
import type { NodeCounters } from './protocol.js';

export interface ChainOutput {
  readonly port: string;
  readonly batch: RecordBatch;
  readonly positions: Float64Array | undefined;
}

interface Live {
  readonly member: ChainMember;
  readonly op: ObservedOperator;
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
      const spec = registry.get('operator', m.kind) as OperatorSpec | undefined;
      if (!spec) throw new AbflowError('internal', `operator kind \`${m.kind}\` is not registered in the worker`, { nodeId: m.nodeId, domain: 'internal' });
      const outputs = Object.fromEntries(Object.entries(m.outputs).map(([p, s]) => [p, schemaFromJson(s)]));
      return { member: m, op: ObservedOperator.create(spec, m.nodeId, m.rawConfig, [schemaFromJson(m.inputSchema)], outputs) };
    });
  }

  async run(
    batch: RecordBatch,
    positions: Float64Array | undefined,
    origin: string | undefined,
  ): Promise<{ outputs: ChainOutput[]; counters: NodeCounters[]; watermark: number }> {
    let watermark = -Infinity;
    const produced: Emitted[][] = [];
    const counters: NodeCounters[] = [];
    const outputs: ChainOutput[] = [];
    for (let k = 0; k < this.live.length; k++) {
      const { member, op } = this.live[k]!;
      const inputs: { batch: RecordBatch; positions: Float64Array | undefined }[] =
        member.from.member < 0 ? [{ batch, positions }] : produced[member.from.member]!.filter((e) => e.port === member.from.port);
      const emitted: Emitted[] = [];
      for (const input of inputs) {
        const col = await op.batch(input.batch, input.positions, origin, 0);
        emitted.push(...col.emitted);
        if (col.watermark > watermark) watermark = col.watermark;
      }
      const c = op.take();
      counters.push(c);
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
