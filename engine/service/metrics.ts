/**
 * @module service/metrics
 * Prometheus metrics of every job, read from the jobs' live counters at scrape time (prom-client collectors), so the
 * numbers are exactly the job's own: records in/out per node, dead letters, busy time, queue depth per edge
 * (backpressure), watermark lag, per-batch processing time (a histogram), checkpoints (count, last duration and
 * size), and each operator's own counters (`Operator.metrics`:
 * LLM requests, tokens, cost, cache hits, circuit state …) as `abflow_operator_metric{metric=…}`.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { BATCH_MS_BUCKETS } from '../runtime/job.js';
import type { JobManager } from './jobs.js';
import { systemClock } from '../time/clock.js';

export function jobMetrics(jobs: JobManager): Registry {
  const registry = new Registry();
  const statuses = () => jobs.list().map((j) => ({ j, s: j.status }));
  const perNode = (name: string, help: string, value: (n: ReturnType<typeof statuses>[number]['s']['nodes'][number]) => number) =>
    new Counter({
      name,
      help,
      labelNames: ['job', 'node', 'kind', 'role'],
      registers: [registry],
      collect() {
        this.reset();
        for (const { j, s } of statuses()) for (const n of s.nodes) this.inc({ job: j.name, node: n.id, kind: n.kind, role: n.role }, value(n));
      },
    });
  perNode('abflow_records_in_total', 'Records into a node.', (n) => n.rowsIn);
  perNode('abflow_records_out_total', 'Records out of a node.', (n) => n.rowsOut);
  perNode('abflow_dead_letters_total', 'Records a node sent to its dead_letter output.', (n) => n.dead);
  perNode('abflow_discarded_total', 'Records emitted on unconnected outputs.', (n) => n.discarded);
  perNode('abflow_busy_seconds_total', 'Time a node spent processing.', (n) => n.busyMs / 1000);
  const perQueue = (name: string, help: string, value: (q: { depth: number; capacity: number }) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['job', 'edge'],
      registers: [registry],
      collect() {
        this.reset();
        for (const { j, s } of statuses()) for (const q of s.queues) this.set({ job: j.name, edge: q.name }, value(q));
      },
    });
  perQueue('abflow_queue_depth', 'Elements waiting on an edge (its capacity is abflow_queue_capacity): a full queue is backpressure.', (q) => q.depth);
  perQueue('abflow_queue_capacity', 'Capacity of an edge.', (q) => q.capacity);
  new Counter({
    name: 'abflow_checkpoints_total',
    help: 'Completed checkpoints.',
    labelNames: ['job'],
    registers: [registry],
    collect() {
      this.reset();
      for (const { j, s } of statuses()) this.inc({ job: j.name }, s.checkpoints.length);
    },
  });
  const last = (name: string, help: string, f: (c: { ms: number; bytes: number }) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['job'],
      registers: [registry],
      collect() {
        this.reset();
        for (const { j, s } of statuses()) {
          const c = s.checkpoints[s.checkpoints.length - 1];
          if (c) this.set({ job: j.name }, f(c));
        }
      },
    });
  last('abflow_checkpoint_duration_seconds', 'Duration of the last completed checkpoint.', (c) => c.ms / 1000);
  last('abflow_checkpoint_bytes', 'Size of the last completed checkpoint.', (c) => c.bytes);
  new Gauge({
    name: 'abflow_operator_metric',
    help: 'An operator’s own counter (LLM requests, tokens, cost, cache hits, circuit state …).',
    labelNames: ['job', 'node', 'metric'],
    registers: [registry],
    collect() {
      this.reset();
      for (const { j, s } of statuses())
        for (const n of s.nodes) for (const [k, v] of Object.entries(n.extra ?? {})) this.set({ job: j.name, node: n.id, metric: k }, v);
    },
  });
  new Gauge({
    name: 'abflow_watermark_lag_seconds',
    help: 'Wall-clock time minus the event time a node last forwarded (how far event time trails).',
    labelNames: ['job', 'node'],
    registers: [registry],
    collect() {
      this.reset();
      const now = systemClock.now();
      for (const { j, s } of statuses())
        for (const n of s.nodes) if (n.watermarkMs !== undefined) this.set({ job: j.name, node: n.id }, (now - n.watermarkMs) / 1000);
    },
  });
  // A histogram whose buckets the runtime already counts: exposed as is rather than re-observed.
  const batchName = 'abflow_batch_duration_seconds';
  registry.registerMetric({
    name: batchName,
    help: 'Processing time of one batch in a node.',
    type: 'histogram',
    aggregator: 'sum',
    reset: () => undefined,
    get: async () => ({
      name: batchName,
      help: 'Processing time of one batch in a node.',
      type: 'histogram',
      aggregator: 'sum',
      values: statuses().flatMap(({ j, s }) =>
        s.nodes.flatMap((n) => {
          const h = n.batchMs;
          if (!h) return [];
          const labels = { job: j.name, node: n.id };
          return [
            ...BATCH_MS_BUCKETS.map((le, i) => ({ metricName: `${batchName}_bucket`, labels: { ...labels, le: le / 1000 }, value: h.counts[i]! })),
            { metricName: `${batchName}_bucket`, labels: { ...labels, le: '+Inf' }, value: h.count },
            { metricName: `${batchName}_sum`, labels, value: h.sum / 1000 },
            { metricName: `${batchName}_count`, labels, value: h.count },
          ];
        }),
      ),
    }),
  } as unknown as Parameters<Registry['registerMetric']>[0]);
  new Gauge({
    name: 'abflow_job_running',
    help: '1 while a job runs.',
    labelNames: ['job', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const j of jobs.list()) this.set({ job: j.name, state: j.state }, j.state === 'running' ? 1 : 0);
    },
  });
  return registry;
}
