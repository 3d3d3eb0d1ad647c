/**
 * `route`: sends each row to the first named output whose predicate is true (like a SQL CASE or Benthos `switch`);
 * rows matching none go to the default output. Every row goes to exactly one output, so routing never loses or
 * duplicates rows.
 */
import { AbflowError, atPath, compilePredicate, defineOperator, evalContext, partitionRows, takeBatch, z } from '../../engine/api.js';

const portName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, 'output names use letters, digits, _ and -');

const config = z
  .object({
    routes: z.record(portName, z.string().min(1)).describe('output name → predicate; the first true predicate wins, in order.'),
    default: portName.default('default').describe('Output for rows that match no route.'),
  })
  .strict();

export const route = defineOperator({
  kind: 'route',
  summary: 'Routes each row to the first output whose predicate holds, else to the default output.',
  config,
  execution: 'parallel',
  deadLetters: true,
  examples: [
    {
      title: 'Split payments by risk',
      yaml: `id: by_risk\nkind: route\ninputs: [payments]\nconfig:\n  routes:\n    failed: "status = 'failed'"\n    large: "amount_usd >= 1000"\n  default: normal`,
    },
  ],
  ports: (cfg) => [...Object.keys(cfg.routes), cfg.default],
  display: (cfg) => ({ routes: Object.keys(cfg.routes).join(', '), default: cfg.default }),
  outputSchemas(cfg, [input]) {
    const out: Record<string, typeof input> = {};
    for (const [name, text] of Object.entries(cfg.routes)) {
      if (name === 'dead_letter') throw new AbflowError('config', '`dead_letter` is reserved for rows that cannot be evaluated', { path: ['routes', name] });
      atPath(['routes', name], () => compilePredicate(text, input!));
      out[name] = input;
    }
    if (cfg.default in cfg.routes) throw new AbflowError('config', `the default output \`${cfg.default}\` is also a route`, { path: ['default'] });
    out[cfg.default] = input;
    return out as Record<string, NonNullable<typeof input>>;
  },
  create(cfg, ctx) {
    const routes = Object.entries(cfg.routes).map(([name, text]) => ({ name, p: compilePredicate(text, ctx.inputs[0]!) }));
    return {
      processBatch(batch, out) {
        const ectx = evalContext(batch);
        const preds = routes.map((r) => r.p.eval(ectx));
        const n = batch.numRows;
        const target = new Int32Array(n).fill(routes.length);
        for (let i = 0; i < n; i++) {
          for (let k = 0; k < preds.length; k++) {
            const p = preds[k]!;
            if (p.kind === 'bool' && p.v[i] === 1 && (p.valid === null || p.valid[i] === 1)) {
              target[i] = k;
              break;
            }
          }
        }
        const { bad, reasons } = partitionRows(n, ectx.errors, () => false);
        out.deadLetter(bad, reasons);
        const names = [...routes.map((r) => r.name), cfg.default];
        names.forEach((name, k) => {
          const { rows, count } = partitionRows(n, ectx.errors, (i) => target[i] === k);
          if (count) out.emit(takeBatch(batch, rows, count), name, rows);
        });
      },
    };
  },
});
