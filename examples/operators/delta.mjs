// @ts-check
/**
 * `delta`: an example custom operator, written only against abflow's public API (`abflow/api`), exactly as the
 * built-in operators are. Per key, it adds the change of a value since the key's previous row and its rate per
 * second of event time — e.g. a meter's consumption, or how fast a customer's spending moves.
 *
 * What it shows: a zod config, compile-time checks with plan-relative error paths (`atPath`, `requireColumn`),
 * keyed execution (rows partitioned by `keyBy`, so each key's state lives in one place), checkpointed keyed state
 * (`snapshot` / `restore`), and dead letters for rows it cannot use. Its tests use `abflow/testing`
 * (delta.test.ts beside it); examples/plans/payment-deltas.yaml runs it (`plugins: [../operators/delta.mjs]`).
 */
import {
  AbflowError,
  atPath,
  columnData,
  columnTypeOf,
  defineOperator,
  Field,
  isValid,
  keyReader,
  makeBatch,
  numbersOf,
  requireColumn,
  Schema,
  takeBatch,
  toArrowType,
  vecToData,
  z,
} from 'abflow/api';

const config = z
  .object({
    keyBy: z.array(z.string().min(1)).min(1).describe('Columns identifying the series (a meter, a customer).'),
    value: z.string().min(1).describe('Numeric column whose change is computed.'),
    timeColumn: z.string().min(1).describe('Event-time column the rate is measured against.'),
  })
  .strict();

/** @param {Schema} schema @param {number} i */
const typeAt = (schema, i) => columnTypeOf(/** @type {Field} */ (schema.fields[i]).type);

/** @param {z.infer<typeof config>} cfg @param {Schema} input */
function outputSchema(cfg, input) {
  cfg.keyBy.forEach((k, i) => atPath(['keyBy', i], () => requireColumn(input, k, [])));
  const v = atPath(['value'], () => requireColumn(input, cfg.value, []));
  if (!['int32', 'int64', 'float64'].includes(typeAt(input, v))) throw new AbflowError('config', `\`${cfg.value}\` is not numeric`, { path: ['value'] });
  const t = atPath(['timeColumn'], () => requireColumn(input, cfg.timeColumn, []));
  if (typeAt(input, t) !== 'timestamp') throw new AbflowError('config', `\`${cfg.timeColumn}\` is not a timestamp`, { path: ['timeColumn'] });
  return new Schema([
    ...input.fields,
    new Field(`${cfg.value}_delta`, toArrowType('float64'), true),
    new Field(`${cfg.value}_rate`, toArrowType('float64'), true),
  ]);
}

export const delta = defineOperator({
  kind: 'delta',
  summary: 'Per key, the change of a value since the key’s previous row and its rate per second (example custom operator).',
  config,
  execution: 'keyed',
  keyBy: (cfg) => cfg.keyBy,
  deadLetters: true,
  examples: [
    {
      title: 'Spending change per customer',
      yaml: 'id: spend_delta\nkind: delta\ninputs: [payments]\nconfig:\n  keyBy: [customer_id]\n  value: amount\n  timeColumn: event_time',
    },
  ],
  outputSchemas: (cfg, [input]) => ({ out: outputSchema(cfg, /** @type {Schema} */ (input)) }),
  create(cfg, ctx) {
    const input = /** @type {Schema} */ (ctx.inputs[0]);
    const schema = outputSchema(cfg, input);
    const keyIdx = cfg.keyBy.map((k) => input.fields.findIndex((f) => f.name === k));
    const valueIdx = input.fields.findIndex((f) => f.name === cfg.value);
    const timeIdx = input.fields.findIndex((f) => f.name === cfg.timeColumn);
    /** Per key: the previous row's value and time. @type {Map<string, { value: number, time: number }>} */
    const last = new Map();
    return {
      processBatch(batch, out) {
        const n = batch.numRows;
        const keyOf = keyReader(keyIdx.map((i) => columnData(batch, i)));
        const vCol = columnData(batch, valueIdx);
        const tCol = columnData(batch, timeIdx);
        const values = numbersOf(vCol);
        const times = numbersOf(tCol);
        const d = new Float64Array(n);
        const r = new Float64Array(n);
        const dValid = new Uint8Array(n);
        const rValid = new Uint8Array(n);
        /** @type {number[]} */ const good = [];
        /** @type {number[]} */ const bad = [];
        for (let i = 0; i < n; i++) {
          if (!isValid(vCol, i) || !isValid(tCol, i)) {
            bad.push(i);
            continue;
          }
          good.push(i);
          const key = keyOf(i);
          const value = /** @type {number} */ (values[i]);
          const time = /** @type {number} */ (times[i]);
          const prev = last.get(key);
          if (prev) {
            d[i] = value - prev.value;
            dValid[i] = 1;
            const seconds = (time - prev.time) / 1000;
            if (seconds > 0) {
              r[i] = (value - prev.value) / seconds;
              rValid[i] = 1;
            }
          }
          last.set(key, { value, time });
        }
        const result = makeBatch(
          schema,
          [
            ...batch.data.children,
            vecToData({ kind: 'num', v: d, valid: dValid }, 'float64', n),
            vecToData({ kind: 'num', v: r, valid: rValid }, 'float64', n),
          ],
          n,
        );
        if (!bad.length) return out.emit(result);
        out.deadLetter(
          bad,
          bad.map(() => `delta: ${cfg.value} or ${cfg.timeColumn} is null`),
        );
        const rows = Int32Array.from(good);
        out.emit(takeBatch(result, rows), 'out', rows);
      },
      // Keyed state, per key, so a restore at another parallelism re-splits it by key group.
      snapshot: () => ({ entries: [...last] }),
      restore(state) {
        for (const [k, v] of state.entries) last.set(k, /** @type {{ value: number, time: number }} */ (v));
      },
    };
  },
});

/** What `plugins:` in a plan (or `--plugin`) loads. */
export const abflowComponents = [delta];
