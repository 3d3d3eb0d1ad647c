/**
 * `blackhole` sink: counts rows and discards them. The sink of the Nexmark benchmark suite, used to measure a
 * pipeline without the cost of a destination.
 */
import { defineSink, z } from '../../engine/api.js';

export const blackhole = defineSink({
  kind: 'blackhole',
  summary: 'Discards rows (counted in the run summary); for benchmarks.',
  config: z.object({}).strict(),
  inputs: { min: 1, max: 64 },
  examples: [{ title: 'Measure a pipeline without a destination', yaml: `id: sink\nkind: blackhole\ninputs: [by_risk.normal, by_risk.large]` }],
  create: () => ({
    write() {},
    async close() {},
  }),
});
