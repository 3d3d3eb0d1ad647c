/**
 * `generate` source: deterministic synthetic streams for demos, tests and benchmarks. Every row is a pure function
 * of (seed, row number), so reruns, parallelism changes and restarts give identical data. `count` bounds the stream
 * (omit it for an endless one); `rowsPerSecond` paces it in wall-clock time for live demos.
 */
import { defineSource, parseTimestamp, z, AbflowError } from '../../engine/api.js';
import { paymentsBatch, paymentsOptions, paymentsSchema } from './generators/payments.js';

const GENERATORS = {
  payments: { schema: paymentsSchema, options: paymentsOptions, batch: paymentsBatch },
} as const;

const config = z
  .object({
    generator: z.enum(Object.keys(GENERATORS) as [keyof typeof GENERATORS]).describe('Which stream to generate.'),
    count: z.number().int().min(0).optional().describe('Rows to generate; omit for an unbounded stream.'),
    seed: z.number().int().default(42).describe('Seed: the same seed gives the same rows.'),
    start: z.string().default('2024-01-01T00:00:00Z').describe('Event time of the first row (ISO 8601).'),
    rowsPerSecond: z.number().positive().optional().describe('Wall-clock pacing; omit to generate as fast as downstream takes it.'),
    options: z.record(z.string(), z.unknown()).default({}).describe("Generator options (e.g. payments: customers, merchants, eventsPerSecond, lateFraction)."),
  })
  .strict();

export const generate = defineSource({
  kind: 'generate',
  summary: 'Generates a deterministic synthetic stream (payments) from a seed.',
  config,
  examples: [
    {
      title: '100 000 payments',
      yaml: `id: payments\nkind: generate\nconfig:\n  generator: payments\n  count: 100000\n  seed: 7`,
    },
  ],
  display: (cfg) => ({ generator: cfg.generator, count: String(cfg.count ?? 'unbounded'), seed: String(cfg.seed) }),
  outputSchemas(cfg) {
    const gen = GENERATORS[cfg.generator];
    const parsed = gen.options.safeParse(cfg.options);
    if (!parsed.success) throw new AbflowError('config', `invalid ${cfg.generator} options: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`, { path: ['options'] });
    if (parseTimestamp(cfg.start) === null) throw new AbflowError('config', `invalid start time "${cfg.start}"`, { path: ['start'], hint: 'use ISO 8601, e.g. 2024-01-01T00:00:00Z' });
    return { out: gen.schema };
  },
  create(cfg, ctx) {
    const gen = GENERATORS[cfg.generator];
    const options = gen.options.parse(cfg.options);
    const startMs = parseTimestamp(cfg.start)!;
    return {
      describePosition: (p) => `row ${p}`,
      async *read() {
        const t0 = performance.now();
        // Paced streams emit small batches (one linger period's worth) so latency stays at the linger bound.
        const size = cfg.rowsPerSecond ? Math.max(1, Math.min(ctx.batchSize, Math.ceil((cfg.rowsPerSecond * ctx.lingerMs) / 1000))) : ctx.batchSize;
        for (let first = 0; cfg.count === undefined || first < cfg.count; first += size) {
          const n = cfg.count === undefined ? size : Math.min(size, cfg.count - first);
          if (cfg.rowsPerSecond) {
            const due = t0 + (first / cfg.rowsPerSecond) * 1000;
            const wait = due - performance.now();
            if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          }
          const positions = new Float64Array(n);
          for (let i = 0; i < n; i++) positions[i] = first + i + 1;
          yield { batch: gen.batch(cfg.seed, startMs, first, n, options), positions };
        }
      },
    };
  },
});
