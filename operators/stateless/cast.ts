/**
 * `cast`: converts columns to other types. A value that does not convert (e.g. "abc" to int64) sends its row to
 * `dead_letter` with the reason, or becomes null with `onError: null` (TRY_CAST semantics).
 */
import {
  castNode,
  columnTypeSchema,
  compileExpression,
  defineOperator,
  evalContext,
  Field,
  makeBatch,
  partitionRows,
  requireColumn,
  Schema,
  takeBatch,
  toArrowType,
  vecToData,
  z,
} from '../../engine/api.js';

const config = z
  .object({
    columns: z.record(z.string().min(1), columnTypeSchema).describe('column → target type'),
    onError: z.enum(['dead_letter', 'null']).default('dead_letter').describe('What happens to a value that does not convert.'),
  })
  .strict();

export const cast = defineOperator({
  kind: 'cast',
  summary: 'Converts columns to other types; values that do not convert are dead-lettered (or nulled).',
  config,
  execution: 'parallel',
  deadLetters: true,
  examples: [
    { title: 'Parse string amounts', yaml: `id: typed\nkind: cast\ninputs: [raw]\nconfig:\n  columns:\n    amount: float64\n    created_at: timestamp` },
  ],
  display: (cfg) => ({
    columns: Object.entries(cfg.columns)
      .map(([c, t]) => `${c}::${t}`)
      .join(', '),
  }),
  outputSchemas(cfg, [input]) {
    const fields = [...input!.fields];
    for (const [col, type] of Object.entries(cfg.columns)) fields[requireColumn(input!, col, ['columns', col])] = new Field(col, toArrowType(type), true);
    return { out: new Schema(fields) };
  },
  create(cfg, ctx) {
    const input = ctx.inputs[0]!;
    const outSchema = ctx.outputs.out!;
    const casts = Object.entries(cfg.columns).map(([col, type]) => ({
      name: col,
      index: requireColumn(input, col, []),
      type,
      node: castNode(compileExpression(`col(${JSON.stringify(col)})`, input).root, type, cfg.onError === 'dead_letter'),
    }));
    return {
      processBatch(batch, out) {
        const ectx = evalContext(batch);
        const children = [...batch.data.children];
        // A row's reason names the first column that failed to convert, as derive's do.
        let errors: Map<number, string> | null = null;
        for (const c of casts) {
          if (c.node.column !== undefined) continue;
          children[c.index] = vecToData(c.node.eval(ectx), c.type, batch.numRows);
          if (ectx.errors) for (const [i, r] of ectx.errors) if (!(errors ??= new Map()).has(i)) errors.set(i, `${c.name}: ${r}`);
        }
        const result = makeBatch(outSchema, children, batch.numRows);
        if (!errors) return out.emit(result);
        const { rows, count, bad, reasons } = partitionRows(batch.numRows, errors);
        out.deadLetter(bad, reasons);
        out.emit(takeBatch(result, rows, count), 'out', rows);
      },
    };
  },
});
