/**
 * `derive`: adds or replaces columns computed by expressions. Columns are computed in the order written and each
 * expression may use the columns derived before it. A row whose value cannot be computed goes to `dead_letter`.
 */
import {
  atPath,
  compileExpression,
  type Data,
  ExpressionScope,
  type CompiledExpression,
  type ColumnType,
  defineOperator,
  evalContext,
  Field,
  makeBatch,
  partitionRows,
  Schema,
  takeBatch,
  toArrowType,
  type Vec,
  vecFromData,
  vecToData,
  z,
  AbflowError,
} from '../../engine/api.js';

const config = z
  .object({
    columns: z
      .record(z.string().min(1), z.string().min(1))
      .describe('New or replaced columns: name → expression, computed in order; later ones may use earlier ones.'),
  })
  .strict();

interface Step {
  readonly name: string;
  readonly expr: CompiledExpression;
  readonly type: ColumnType;
  /** The column's index once derived; an input index when the column is replaced. */
  readonly index: number;
  readonly replaces: boolean;
}

/** The steps and the output schema, in time linear in the number of columns (one growing scope and field list). */
function plan(columns: Record<string, string>, input: Schema): { steps: Step[]; schema: Schema } {
  const steps: Step[] = [];
  const scope = new ExpressionScope(input);
  const fields = [...input.fields];
  for (const [name, text] of Object.entries(columns)) {
    const expr = atPath(['columns', name], () => compileExpression(text, scope));
    if (expr.type === 'null')
      throw new AbflowError('expression_type', `the type of \`${text}\` cannot be inferred from a bare null`, {
        path: ['columns', name],
        hint: "cast it, e.g. cast(null, 'int64')",
      });
    const type = expr.type;
    const replaces = scope.indexOf(name) >= 0;
    const index = scope.set(name, type);
    fields[index] = new Field(name, toArrowType(type), true);
    steps.push({ name, expr, type, index, replaces });
  }
  return { steps, schema: steps.length ? new Schema(fields) : input };
}

export const derive = defineOperator({
  kind: 'derive',
  summary: 'Adds or replaces columns computed from expressions over the row.',
  config,
  execution: 'parallel',
  deadLetters: true,
  examples: [
    {
      title: 'Amount in USD and a large-payment flag',
      yaml: `id: usd\nkind: derive\ninputs: [payments]\nconfig:\n  columns:\n    amount_usd: "amount * CASE currency WHEN 'EUR' THEN 1.08 ELSE 1.0 END"\n    is_large: "amount_usd > 1000"`,
    },
  ],
  display: (cfg) => ({ columns: Object.keys(cfg.columns).join(', ') }),
  outputSchemas(cfg, [input]) {
    return { out: plan(cfg.columns, input!).schema };
  },
  create(cfg, ctx) {
    const { steps, schema } = plan(cfg.columns, ctx.inputs[0]!);
    return {
      processBatch(batch, out) {
        // Every step reads the input batch; a column derived earlier is read from the shared vector cache, where
        // each step leaves its result. One output batch is assembled at the end: a batch per step made a batch of
        // n derived columns cost n² (a 6 000-column plan ground on one row).
        const cache = new Map<number, Vec>();
        const children = [...batch.data.children];
        let errors: Map<number, string> | null = null;
        for (const s of steps) {
          const ectx = evalContext(batch, cache);
          const column = s.expr.root.column;
          let data: Data;
          if (column !== undefined) {
            // A bare column reference: the Arrow column as it is, and its vector for later steps.
            data = children[column]!;
            cache.set(s.index, cache.get(column) ?? vecFromData(data, s.type));
          } else {
            const v = s.expr.eval(ectx);
            data = vecToData(v, s.type, batch.numRows);
            cache.set(s.index, v);
          }
          if (ectx.errors) {
            errors ??= new Map();
            for (const [i, r] of ectx.errors) if (!errors.has(i)) errors.set(i, `${s.name}: ${r}`);
          }
          children[s.index] = data;
        }
        const cur = makeBatch(schema, children, batch.numRows);
        if (!errors) return out.emit(cur);
        const { rows, count, bad, reasons } = partitionRows(batch.numRows, errors);
        out.deadLetter(bad, reasons);
        out.emit(takeBatch(cur, rows, count), 'out', rows);
      },
    };
  },
});
