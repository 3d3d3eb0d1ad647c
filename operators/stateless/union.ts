/**
 * `union`: merges inputs with identical schemas into one stream. Batches keep their order per input; the output
 * watermark is the minimum over the inputs (the runtime does this for every multi-input vertex).
 */
import { AbflowError, defineOperator, describeSchema, z } from '../../engine/api.js';

export const union = defineOperator({
  kind: 'union',
  summary: 'Merges several inputs with the same schema into one stream.',
  config: z.object({}).strict(),
  execution: 'single',
  inputs: { min: 2, max: 64 },
  examples: [{ title: 'Merge two payment feeds', yaml: `id: all_payments\nkind: union\ninputs: [eu_payments, us_payments]` }],
  outputSchemas(_cfg, inputs) {
    const first = describeSchema(inputs[0]!);
    inputs.forEach((s, k) => {
      if (describeSchema(s) !== first)
        throw new AbflowError('config', `input ${k + 1} has schema (${describeSchema(s)}) but input 1 has (${first})`, {
          path: ['inputs', k],
          hint: 'align them first with select/rename/cast',
        });
    });
    return { out: inputs[0]! };
  },
  create: () => ({
    processBatch(batch, out) {
      out.emit(batch);
    },
  }),
});
