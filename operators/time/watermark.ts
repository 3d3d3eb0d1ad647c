/**
 * `watermark`: declares which column holds event time and how out of order it may arrive, and generates watermarks
 * (Flink's bounded out-of-orderness: W = maxTs − maxOutOfOrderness − 1; `0` is "monotonous"). It runs fused in the
 * worker pool: each batch reports its candidate and the runtime keeps the running maximum, in input order, so the
 * result equals a single sequential generator. With `idleTimeout`, a stream without rows for that long is marked
 * idle and stops holding back the event time of operators that merge it with other streams.
 * Rows without an event time go to `dead_letter`: they cannot be placed in time, and are never dropped silently.
 */
import {
  atPath,
  columnData,
  defineOperator,
  duration,
  numbersOf,
  partitionRows,
  requireColumn,
  takeBatch,
  validityBytes,
  z,
  AbflowError,
  columnTypeOf,
  boundedWatermark,
} from '../../engine/api.js';

const config = z
  .object({
    column: z.string().min(1).describe('The event-time column (type timestamp).'),
    maxOutOfOrderness: duration().default(0).describe('How late rows may arrive relative to the newest seen, e.g. "5s" (0: in order).'),
    idleTimeout: duration().optional().describe('Mark the stream idle after this long without rows, e.g. "1m".'),
  })
  .strict();

export const watermark = defineOperator({
  kind: 'watermark',
  summary: 'Declares the event-time column and generates watermarks (bounded out-of-orderness, idle timeout).',
  config,
  execution: 'parallel',
  deadLetters: true,
  generatesWatermarks: true,
  idleTimeoutMs: (cfg) => cfg.idleTimeout,
  examples: [
    {
      title: 'Payments arrive up to 30 s out of order',
      yaml: `id: event_time\nkind: watermark\ninputs: [payments]\nconfig:\n  column: event_time\n  maxOutOfOrderness: 30s\n  idleTimeout: 1m`,
    },
  ],
  display: (cfg) => ({ column: cfg.column, maxOutOfOrderness: `${cfg.maxOutOfOrderness}ms` }),
  outputSchemas(cfg, [input]) {
    const i = atPath(['column'], () => requireColumn(input!, cfg.column, []));
    if (columnTypeOf(input!.fields[i]!.type) !== 'timestamp')
      throw new AbflowError('expression_type', `event-time column \`${cfg.column}\` is ${columnTypeOf(input!.fields[i]!.type)}, not timestamp`, {
        path: ['column'],
        hint: 'convert it first, e.g. a derive with parse_timestamp(col) or to_timestamp(epoch_ms)',
      });
    return { out: input! };
  },
  create(cfg, ctx) {
    const index = requireColumn(ctx.inputs[0]!, cfg.column, []);
    return {
      processBatch(batch, out) {
        const data = columnData(batch, index);
        const ts = numbersOf(data);
        const valid = validityBytes(data);
        let max = -Infinity;
        for (let i = 0; i < ts.length; i++) if ((valid === null || valid[i] === 1) && ts[i]! > max) max = ts[i]!;
        if (valid === null) out.emit(batch);
        else {
          const missing = new Map<number, string>();
          for (let i = 0; i < ts.length; i++) if (valid[i] === 0) missing.set(i, `no event time: \`${cfg.column}\` is null`);
          const { rows, count, bad, reasons } = partitionRows(batch.numRows, missing);
          out.deadLetter(bad, reasons);
          out.emit(takeBatch(batch, rows, count), 'out', rows);
        }
        if (max > -Infinity) out.emitWatermark(boundedWatermark(max, cfg.maxOutOfOrderness));
      },
    };
  },
});
