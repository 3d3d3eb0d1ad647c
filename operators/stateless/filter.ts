/**
 * `filter`: keeps the rows whose predicate is true. Rows where it is false or null are filtered (counted as such);
 * rows whose predicate cannot be computed (e.g. a failed cast) go to `dead_letter` with the reason.
 */
import { atPath, compilePredicate, defineOperator, evalContext, partitionRows, takeBatch, z } from '../../engine/api.js';

const config = z
  .object({
    where: z.string().min(1).describe("Predicate over the input columns, e.g. `amount > 100 and status = 'paid'`."),
  })
  .strict();

export const filter = defineOperator({
  kind: 'filter',
  summary: 'Keeps rows whose predicate is true (SQL WHERE semantics: false and null are filtered).',
  config,
  execution: 'parallel',
  deadLetters: true,
  examples: [
    {
      title: 'Keep settled payments over 100',
      yaml: `id: big_paid\nkind: filter\ninputs: [payments]\nconfig:\n  where: "amount > 100 and status = 'settled'"`,
    },
  ],
  display: (cfg) => ({ where: cfg.where }),
  outputSchemas(cfg, [input]) {
    atPath(['where'], () => compilePredicate(cfg.where, input!));
    return { out: input! };
  },
  create(cfg, ctx) {
    const predicate = compilePredicate(cfg.where, ctx.inputs[0]!);
    return {
      processBatch(batch, out) {
        const ectx = evalContext(batch);
        const p = predicate.eval(ectx);
        if (p.kind !== 'bool') return; // the literal null: nothing passes
        const { rows, count, bad, reasons } = partitionRows(batch.numRows, ectx.errors, (i) => p.v[i] === 1 && (p.valid === null || p.valid[i] === 1));
        out.deadLetter(bad, reasons);
        out.emit(takeBatch(batch, rows, count), 'out', rows);
      },
    };
  },
});
