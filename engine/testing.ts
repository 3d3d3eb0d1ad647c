/**
 * @module testing
 * A test harness for operators, exported as `abflow/testing`: the same lifecycle the runtime drives — config
 * validation, `outputSchemas`, `create`, batches per input, watermarks, processing-time ticks, `close`, and keyed
 * state snapshot/restore — without threads or a plan, so a custom operator's tests read like its spec.
 *
 * @example
 * ```ts
 * import { operatorHarness } from 'abflow/testing';
 * const h = operatorHarness(myOperator, { column: 'amount' }, { amount: 'float64' });
 * await h.push([{ amount: 2 }]);
 * expect(h.rows()).toEqual([{ amount: 4 }]);
 * ```
 */
import type { Schema } from 'apache-arrow';
import { batchFromRows, rowObject } from './arrow/columns.js';
import { AbflowError } from './errors.js';
import type { KeyedState, Operator, OperatorSpec } from './operator.js';
import { BatchCollector } from './runtime/collector.js';
import { zeroCounters } from './runtime/protocol.js';
import { MAX_WATERMARK } from './time/watermark.js';
import { schemaOf, type SchemaSpec } from './types.js';

export interface DeadLetter {
  readonly reason: string;
  readonly row: Record<string, unknown>;
}

export interface OperatorHarness {
  /** Output schemas by port, as the plan compiler computed them. */
  readonly outputs: Readonly<Record<string, Schema>>;
  /** Feeds rows (plain objects, typed by the input schema) to input `input` (default 0). */
  push(rows: readonly Record<string, unknown>[], input?: number): Promise<void>;
  /** Advances event time: the operator's `onWatermark`. */
  watermark(ms: number): Promise<void>;
  /** Advances processing time: the operator's `onTick` with this wall-clock time. */
  tick(nowMs: number): Promise<void>;
  /** Ends the input: the final watermark (as the runtime sends it), then `close`. */
  close(): Promise<void>;
  /** Rows emitted so far on `port` (default `out`), as plain objects. */
  rows(port?: string): Record<string, unknown>[];
  readonly deadLetters: DeadLetter[];
  /** Keyed operators: the state a checkpoint would hold, and a fresh instance restored from it. */
  snapshot(): KeyedState | undefined;
  restored(state: KeyedState): OperatorHarness;
}

/** Builds a harness around `spec` with `config` (validated as in a plan) and the input schema(s). */
export function operatorHarness<C>(spec: OperatorSpec<C>, config: unknown, inputs: Schema | SchemaSpec | readonly (Schema | SchemaSpec)[]): OperatorHarness {
  const list = (Array.isArray(inputs) ? inputs : [inputs]) as (Schema | SchemaSpec)[];
  const schemas = list.map((s) => ('fields' in s && Array.isArray((s as Schema).fields) ? (s as Schema) : schemaOf(s as SchemaSpec)));
  const parsed = spec.config.safeParse(config);
  if (!parsed.success)
    throw new AbflowError(
      'plan_schema',
      `invalid ${spec.kind} config: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`).join('; ')}`,
    );
  const cfg = parsed.data;
  const outputs = spec.outputSchemas(cfg, schemas);
  const build = (op: Operator): OperatorHarness => {
    const emitted = new Map<string, Record<string, unknown>[]>();
    const deadLetters: DeadLetter[] = [];
    const counters = zeroCounters('test');
    const empty = batchFromRows(schemas[0]!, []);
    const collect = async (f: (c: BatchCollector) => void | Promise<void>, input = empty) => {
      const c = new BatchCollector('test', input, undefined, undefined, counters);
      await f(c);
      for (const e of c.emitted) {
        if (e.port === 'dead_letter') {
          for (let i = 0; i < e.batch.numRows; i++) {
            const d = rowObject(e.batch, i);
            deadLetters.push({ reason: String(d.reason), row: JSON.parse(String(d.raw)) as Record<string, unknown> });
          }
          continue;
        }
        const rows = emitted.get(e.port) ?? emitted.set(e.port, []).get(e.port)!;
        for (let i = 0; i < e.batch.numRows; i++) rows.push(rowObject(e.batch, i));
      }
    };
    return {
      outputs,
      deadLetters,
      async push(rows, input = 0) {
        const schema = schemas[input];
        if (!schema) throw new Error(`the operator has ${schemas.length} input(s); there is no input ${input}`);
        const batch = batchFromRows(schema, rows);
        await collect((c) => op.processBatch(batch, c, input), batch);
      },
      watermark: (ms) => collect((c) => op.onWatermark?.(ms, c)),
      tick: (now) => collect((c) => op.onTick?.(now, c)),
      async close() {
        await collect((c) => op.onWatermark?.(MAX_WATERMARK, c));
        await collect((c) => op.close?.(c));
      },
      rows: (port = 'out') => [...(emitted.get(port) ?? [])],
      snapshot: () => op.snapshot?.(),
      restored(state) {
        const fresh = spec.create(cfg, { nodeId: 'test', inputs: schemas, outputs });
        fresh.restore?.(structuredClone(state));
        return build(fresh);
      },
    };
  };
  return build(spec.create(cfg, { nodeId: 'test', inputs: schemas, outputs }));
}
