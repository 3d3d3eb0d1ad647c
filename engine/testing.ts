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
import { zodErrors } from './plan/load.js';
import type { KeyedState, OperatorSpec } from './operator.js';
import type { BatchCollector } from './runtime/collector.js';
import { ObservedOperator } from './runtime/observed.js';
import type { Clock } from './time/clock.js';
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
  /** Watermark generators: the candidate each call emitted, in order (the runtime keeps their running maximum). */
  readonly watermarks: number[];
  /** Keyed operators: the state a checkpoint would hold, and a fresh instance restored from it. */
  snapshot(): KeyedState | undefined;
  restored(state: KeyedState): OperatorHarness;
}

/** Builds a harness around `spec` with `config` (validated as in a plan) and the input schema(s). The operator runs
 * inside the runtime's own wrapper (`observed`), with `clock` as its processing time: a `ManualClock` lets a test
 * move time by hand. */
export function operatorHarness<C>(
  spec: OperatorSpec<C>,
  config: unknown,
  inputs: Schema | SchemaSpec | readonly (Schema | SchemaSpec)[],
  opts: { readonly clock?: Clock } = {},
): OperatorHarness {
  const list = (Array.isArray(inputs) ? inputs : [inputs]) as (Schema | SchemaSpec)[];
  const schemas = list.map((s) => ('fields' in s && Array.isArray((s as Schema).fields) ? (s as Schema) : schemaOf(s as SchemaSpec)));
  const parsed = spec.config.safeParse(config);
  if (!parsed.success)
    throw new AbflowError(
      'plan_schema',
      `invalid ${spec.kind} config: ${zodErrors(parsed.error, spec.config, [], config)
        .map((e) => `${e.path?.join('.') || '(config)'}: ${e.message}`)
        .join('; ')}`,
    );
  const outputs = spec.outputSchemas(parsed.data, schemas);
  const create = () => ObservedOperator.create(spec as OperatorSpec, 'test', config, schemas, { ...outputs }, opts.clock);
  const build = (op: ObservedOperator): OperatorHarness => {
    const emitted = new Map<string, Record<string, unknown>[]>();
    const deadLetters: DeadLetter[] = [];
    const watermarks: number[] = [];
    const collect = async (run: Promise<BatchCollector>) => {
      const collector = await run;
      if (collector.watermark > -Infinity) watermarks.push(collector.watermark);
      for (const e of collector.emitted) {
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
      watermarks,
      async push(rows, input = 0) {
        const schema = schemas[input];
        if (!schema) throw new Error(`the operator has ${schemas.length} input(s); there is no input ${input}`);
        await collect(op.batch(batchFromRows(schema, rows), undefined, undefined, input));
      },
      watermark: (ms) => collect(op.watermark(ms)),
      tick: (now) => collect(op.tick(now)),
      async close() {
        await collect(op.watermark(MAX_WATERMARK));
        await collect(op.close());
      },
      rows: (port = 'out') => [...(emitted.get(port) ?? [])],
      snapshot: () => op.snapshot(),
      restored(state) {
        const fresh = create();
        fresh.restore(structuredClone(state));
        return build(fresh);
      },
    };
  };
  return build(create());
}
