/**
 * `generate` source: deterministic synthetic streams for demos, tests and benchmarks. Every row is a pure function
 * of (seed, row number), so reruns, parallelism changes and restarts give identical data. `count` bounds the stream
 * (omit it for an endless one); `rowsPerSecond` paces it in wall-clock time for live demos.
 */
import { AbflowError, defineSource, parseTimestamp, type RecordBatch, type Schema, z } from '../../engine/api.js';
import { clickstreamBatch, type ClickstreamOptions, clickstreamOptions, clickstreamSchema } from './generators/clickstream.js';
import { nexmarkBatch, nexmarkOptions, type NexmarkOptions, nexmarkSchemas } from './generators/nexmark.js';
import { ticketsBatch, ticketsOptions, type TicketsOptions, ticketsSchema } from './generators/tickets.js';
import { paymentsBatch, paymentsOptions, type PaymentsOptions, paymentsSchema } from './generators/payments.js';

interface Generator<O> {
  readonly schemas: Record<string, Schema>;
  readonly options: z.ZodType<O>;
  /** Rows [first, first + count) of the stream, per output port, with their row numbers as positions. */
  batches(seed: number, startMs: number, first: number, count: number, options: O): { port: string; batch: RecordBatch; positions: Float64Array }[];
}

const payments: Generator<PaymentsOptions> = {
  schemas: { out: paymentsSchema },
  options: paymentsOptions,
  batches: (seed, start, first, count, o) => [
    { port: 'out', batch: paymentsBatch(seed, start, first, count, o), positions: Float64Array.from({ length: count }, (_, i) => first + i + 1) },
  ],
};

const nexmark: Generator<NexmarkOptions> = {
  schemas: nexmarkSchemas,
  options: nexmarkOptions,
  batches: nexmarkBatch,
};

const clickstream: Generator<ClickstreamOptions> = {
  schemas: { out: clickstreamSchema },
  options: clickstreamOptions,
  batches: clickstreamBatch,
};

const tickets: Generator<TicketsOptions> = {
  schemas: { out: ticketsSchema },
  options: ticketsOptions,
  batches: ticketsBatch,
};

/** The generators, by name: one file each under generators/. */
const GENERATORS: Record<'payments' | 'nexmark' | 'clickstream' | 'tickets', Generator<never>> = { payments, nexmark, clickstream, tickets } as never;

const config = z
  .object({
    generator: z
      .enum(['payments', 'nexmark', 'clickstream', 'tickets'])
      .describe('Which stream: `payments`, `clickstream` and `tickets` (port out), or `nexmark` (ports person, auction, bid).'),
    count: z.number().int().min(0).optional().describe('Rows to generate; omit for an unbounded stream.'),
    seed: z.number().int().default(42).describe('Seed: the same seed gives the same rows.'),
    start: z
      .string()
      .default('2024-01-01T00:00:00Z')
      .describe(
        "Event time of the first row (ISO 8601), or `now`: the wall clock when the run starts (kept across restarts), so a paced stream's event times follow the clock.",
      ),
    rowsPerSecond: z.number().positive().optional().describe('Wall-clock pacing; omit to generate as fast as downstream takes it.'),
    options: z
      .record(z.string(), z.unknown())
      .default({})
      .describe(
        'Generator options (payments: customers, merchants, eventsPerSecond, lateFraction, maxLatenessMs; nexmark: eventsPerSecond, outOfOrderGroupSize; clickstream: users, eventsPerSecond, activeUsers; tickets: ticketsPerHour, customers).',
      ),
  })
  .strict();

export const generate = defineSource({
  kind: 'generate',
  summary: 'Generates a deterministic synthetic stream from a seed: payments, clickstream, support tickets, or Nexmark people/auctions/bids.',
  config,
  examples: [
    {
      title: '100 000 payments',
      yaml: `id: payments\nkind: generate\nconfig:\n  generator: payments\n  count: 100000\n  seed: 7`,
    },
  ],
  display: (cfg) => ({ generator: cfg.generator, count: String(cfg.count ?? 'unbounded'), seed: String(cfg.seed) }),
  ports: (cfg) => Object.keys(GENERATORS[cfg.generator].schemas),
  outputSchemas(cfg) {
    const gen = GENERATORS[cfg.generator];
    const parsed = gen.options.safeParse(cfg.options);
    if (!parsed.success)
      throw new AbflowError(
        'config',
        `invalid ${cfg.generator} options: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
        { path: ['options'] },
      );
    if (cfg.start !== 'now' && parseTimestamp(cfg.start) === null)
      throw new AbflowError('config', `invalid start time "${cfg.start}"`, { path: ['start'], hint: 'use ISO 8601, e.g. 2024-01-01T00:00:00Z' });
    return gen.schemas;
  },
  create(cfg, ctx) {
    const gen = GENERATORS[cfg.generator];
    const options = gen.options.parse(cfg.options);
    return {
      describePosition: (p) => `row ${p}`,
      // Resume token: [next row, outputs of that chunk already yielded, event time of row 0] (a chunk may yield one
      // batch per port; the start time is kept so that `now` means the first run's clock after a restart too).
      async *read(from?: unknown) {
        const [start, skip, savedStart] = Array.isArray(from) ? (from as [number, number, number?]) : [0, 0];
        const startMs = savedStart ?? (cfg.start === 'now' ? ctx.clock.now() : parseTimestamp(cfg.start)!);
        const t0 = ctx.clock.monotonic() - (start / (cfg.rowsPerSecond ?? Infinity)) * 1000;
        // Paced streams emit small batches (one linger period's worth) so latency stays at the linger bound.
        const size = cfg.rowsPerSecond ? Math.max(1, Math.min(ctx.batchSize, Math.ceil((cfg.rowsPerSecond * ctx.lingerMs) / 1000))) : ctx.batchSize;
        for (let first = start; cfg.count === undefined || first < cfg.count; first += size) {
          const n = cfg.count === undefined ? size : Math.min(size, cfg.count - first);
          if (cfg.rowsPerSecond) {
            // A batch leaves when its last row is due, as a real source can only ship rows that have happened.
            const due = t0 + ((first + n) / cfg.rowsPerSecond) * 1000;
            const wait = due - ctx.clock.monotonic();
            if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          }
          const pieces = gen.batches(cfg.seed, startMs, first, n, options as never);
          for (let k = first === start ? skip : 0; k < pieces.length; k++)
            yield { ...pieces[k]!, resumeAfter: k === pieces.length - 1 ? [first + n, 0, startMs] : [first, k + 1, startMs] };
        }
      },
    };
  },
});
