/**
 * `blackhole` sink: counts rows and discards them. The sink of the Nexmark benchmark suite, used to measure a
 * pipeline without the cost of a destination. With `latencyFrom`, it also measures end-to-end latency: the wall
 * clock when a row reaches the sink minus the row's timestamp (for sources whose event time is the wall clock of
 * the event, such as a paced `generate` source started at `now`), reported as percentiles in the run summary.
 */
import { AbflowError, atPath, columnData, duration, columnTypeOf, defineSink, isValid, numbersOf, requireColumn, type Sink, z } from '../../engine/api.js';

/** Latency histogram resolution and range: 0.1 ms buckets up to 60 s (longer latencies land in the last bucket). */
const BUCKET_MS = 0.1;
const BUCKETS = 600_000;

/** Exact-to-the-bucket percentiles over a fixed-width histogram: constant memory whatever the row count. */
export class LatencyHistogram {
  private readonly counts = new Uint32Array(BUCKETS);
  count = 0;
  max = 0;

  add(ms: number): void {
    const b = Math.min(BUCKETS - 1, Math.max(0, Math.floor(ms / BUCKET_MS)));
    this.counts[b]!++;
    this.count++;
    if (ms > this.max) this.max = ms;
  }

  /** The upper edge of the bucket holding the q-quantile (0 < q ≤ 1). */
  quantile(q: number): number {
    const rank = Math.ceil(q * this.count);
    let seen = 0;
    for (let b = 0; b < BUCKETS; b++) {
      seen += this.counts[b]!;
      if (seen >= rank) return (b + 1) * BUCKET_MS;
    }
    return this.max;
  }
}

export const blackhole = defineSink({
  kind: 'blackhole',
  summary: 'Discards rows (counted in the run summary); for benchmarks, optionally measuring end-to-end latency.',
  config: z
    .object({
      latencyFrom: z
        .string()
        .optional()
        .describe('A timestamp column: report the wall clock at the sink minus its value (latency_p50_ms, latency_p99_ms, latency_max_ms).'),
      latencyWarmup: duration()
        .default(0)
        .describe('Rows reaching the sink this long after its first row are not measured (JIT and cache warm-up), as steady-state latency benchmarks do.'),
    })
    .strict(),
  inputs: { min: 1, max: 64 },
  examples: [
    { title: 'Measure a pipeline without a destination', yaml: `id: sink\nkind: blackhole\ninputs: [by_risk.normal, by_risk.large]` },
    {
      title: 'End-to-end latency of a paced stream whose event time is the wall clock',
      yaml: `id: sink\nkind: blackhole\ninputs: [enrich]\nconfig: { latencyFrom: event_time, latencyWarmup: 2s }`,
    },
  ],
  check(cfg, inputs) {
    if (!cfg.latencyFrom) return;
    inputs.forEach((input) => {
      const i = atPath(['latencyFrom'], () => requireColumn(input, cfg.latencyFrom!, []));
      const t = columnTypeOf(input.fields[i]!.type);
      if (t !== 'timestamp')
        throw new AbflowError('config', `\`${cfg.latencyFrom}\` is ${t}; latency is measured from a timestamp column`, { path: ['latencyFrom'] });
    });
  },
  create(cfg, ctx): Sink {
    if (!cfg.latencyFrom) return { write() {}, async close() {} };
    const columns = ctx.inputs.map((s) => s.fields.findIndex((f) => f.name === cfg.latencyFrom));
    const hist = new LatencyHistogram();
    let measureFrom = Infinity;
    return {
      write(batch, input) {
        const now = ctx.clock.now();
        if (measureFrom === Infinity) measureFrom = now + cfg.latencyWarmup;
        if (now < measureFrom) return;
        const data = columnData(batch, columns[input]!);
        const times = numbersOf(data);
        for (let i = 0; i < batch.numRows; i++) if (isValid(data, i)) hist.add(now - times[i]!);
      },
      metrics: (): Record<string, number> =>
        hist.count ? { latency_p50_ms: hist.quantile(0.5), latency_p99_ms: hist.quantile(0.99), latency_max_ms: hist.max } : {},
      async close() {},
    };
  },
});
