/**
 * Column-shaping operators: `select` (keep and order), `rename` and `drop`. They only rearrange Arrow column
 * references, so they cost nothing per row. One file because they share their checks and differ by a few lines.
 */
import { defineOperator, Field, makeBatch, requireColumn, Schema, z, AbflowError, type OperatorSpec } from '../../engine/api.js';

function project(input: Schema, indices: number[], names?: string[]): Schema {
  return new Schema(indices.map((i, k) => (names ? new Field(names[k]!, input.fields[i]!.type, true) : input.fields[i]!)));
}

/** An operator that maps each batch to a fixed list of input columns (optionally renamed). */
function projection<C>(spec: {
  kind: string;
  summary: string;
  config: z.ZodType<C>;
  examples: { title: string; yaml: string }[];
  columns(cfg: C, input: Schema): { indices: number[]; names?: string[] };
  display(cfg: C): Record<string, string>;
}): OperatorSpec<C> {
  return defineOperator({
    kind: spec.kind,
    summary: spec.summary,
    config: spec.config,
    examples: spec.examples,
    execution: 'parallel',
    columnsOnly: true,
    display: spec.display,
    outputSchemas(cfg, [input]) {
      const { indices, names } = spec.columns(cfg, input!);
      return { out: project(input!, indices, names) };
    },
    create(cfg, ctx) {
      const { indices, names } = spec.columns(cfg, ctx.inputs[0]!);
      const schema = project(ctx.inputs[0]!, indices, names);
      return {
        processBatch(batch, out) {
          out.emit(
            makeBatch(
              schema,
              indices.map((i) => batch.data.children[i]!),
              batch.numRows,
            ),
          );
        },
      };
    },
  });
}

const names = z.array(z.string().min(1)).min(1);

export const select = projection({
  kind: 'select',
  summary: 'Keeps the listed columns, in the listed order.',
  config: z.object({ columns: names.describe('Columns to keep, in output order.') }).strict(),
  examples: [{ title: 'Keep three columns', yaml: `id: slim\nkind: select\ninputs: [payments]\nconfig:\n  columns: [payment_id, customer_id, amount]` }],
  columns: (cfg, input) => ({ indices: cfg.columns.map((c, k) => requireColumn(input, c, ['columns', k])) }),
  display: (cfg) => ({ columns: cfg.columns.join(', ') }),
});

export const drop = projection({
  kind: 'drop',
  summary: 'Removes the listed columns.',
  config: z.object({ columns: names.describe('Columns to remove.') }).strict(),
  examples: [{ title: 'Drop a PII column', yaml: `id: no_email\nkind: drop\ninputs: [customers]\nconfig:\n  columns: [email]` }],
  columns(cfg, input) {
    const gone = new Set(cfg.columns.map((c, k) => requireColumn(input, c, ['columns', k])));
    return { indices: input.fields.map((_, i) => i).filter((i) => !gone.has(i)) };
  },
  display: (cfg) => ({ columns: cfg.columns.join(', ') }),
});

export const rename = projection({
  kind: 'rename',
  summary: 'Renames columns (old name → new name); other columns keep their names and places.',
  config: z.object({ columns: z.record(z.string().min(1), z.string().min(1)).describe('old name → new name') }).strict(),
  examples: [{ title: 'Rename a column', yaml: `id: renamed\nkind: rename\ninputs: [payments]\nconfig:\n  columns:\n    amount: amount_cents` }],
  columns(cfg, input) {
    const out = input.fields.map((f) => f.name);
    for (const [from, to] of Object.entries(cfg.columns)) out[requireColumn(input, from, ['columns', from])] = to;
    const dup = out.find((n, i) => out.indexOf(n) !== i);
    if (dup) throw new AbflowError('config', `renaming would give two columns named \`${dup}\``, { path: ['columns'] });
    return { indices: input.fields.map((_, i) => i), names: out };
  },
  display: (cfg) => ({
    columns: Object.entries(cfg.columns)
      .map(([a, b]) => `${a}→${b}`)
      .join(', '),
  }),
});
