/**
 * `derive`: adds or replaces columns computed by expressions. Columns are computed in the order written and each
 * expression may use the columns derived before it. A row whose value cannot be computed goes to `dead_letter`.
 */
import {
  atPath,
  compileExpression,
  type CompiledExpression,
  type ColumnType,
  columnData,
  defineOperator,
  evalContext,
  Field,
  makeBatch,
  partitionRows,
  type RecordBatch,
  Schema,
  takeBatch,
  toArrowType,
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
  /** Index in the schema after this step; equal to an input index when the column is replaced. */
  readonly index: number;
  readonly replaces: boolean;
  readonly schema: Schema;
}

function plan(columns: Record<string, string>, input: Schema): Step[] {
  const steps: Step[] = [];
  let schema = input;
  for (const [name, text] of Object.entries(columns)) {
    const expr = atPath(['columns', name], () => compileExpression(text, schema));
    if (expr.type === 'null')
      throw new AbflowError('expression_type', `the type of \`${text}\` cannot be inferred from a bare null`, { path: ['columns', name], hint: "cast it, e.g. cast(null, 'int64')" });
    const type = expr.type;
    const existing = schema.fields.findIndex((f) => f.name === name);
    const field = new Field(name, toArrowType(type), true);
    const fields = [...schema.fields];
    if (existing >= 0) fields[existing] = field;
    else fields.push(field);
    schema = new Schema(fields);
    steps.push({ name, expr, type, index: existing >= 0 ? existing : fields.length - 1, replaces: existing >= 0, schema });
  }
  return steps;
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
    const steps = plan(cfg.columns, input!);
    return { out: steps.length ? steps[steps.length - 1]!.schema : input! };
  },
  create(cfg, ctx) {
    const steps = plan(cfg.columns, ctx.inputs[0]!);
    return {
      processBatch(batch, out) {
        const cache = new Map();
        let cur: RecordBatch = batch;
        let errors: Map<number, string> | null = null;
        for (const s of steps) {
          const ectx = evalContext(cur, cache);
          const data =
            s.expr.root.column !== undefined
              ? columnData(cur, s.expr.root.column) // a bare column reference: reuse the Arrow column as is
              : vecToData(s.expr.eval(ectx), s.type, cur.numRows);
          if (ectx.errors) {
            errors ??= new Map();
            for (const [i, r] of ectx.errors) if (!errors.has(i)) errors.set(i, `${s.name}: ${r}`);
          }
          const children = [...cur.data.children];
          if (s.replaces) {
            children[s.index] = data;
            cache.delete(s.index);
          } else children.push(data);
          cur = makeBatch(s.schema, children, cur.numRows);
        }
        if (!errors) return out.emit(cur);
        const { rows, count, bad, reasons } = partitionRows(batch.numRows, errors);
        out.deadLetter(bad, reasons);
        out.emit(takeBatch(cur, rows, count), 'out', rows);
      },
    };
  },
});
