/**
 * @module service/jobs
 * The jobs of `abflow serve`: plans submitted as YAML (over the API, or from a folder at start) compiled and run
 * in this process, each with its own worker pool, and kept with their status for the API, metrics and dashboard.
 */
import { randomUUID } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { loadComponents } from '../builtins.js';
import { compilePlan, type CompiledPlan } from '../compile/compile.js';
import { isAbflowError, PlanErrors } from '../errors.js';
import { redactSecrets } from '../redact.js';
import { loadPlanText } from '../plan/load.js';
import { Job, type JobResult } from '../runtime/scheduler.js';
import type { SubmissionPolicy } from '../policy.js';

export type JobState = 'running' | 'stopping' | 'finished' | 'failed' | 'stopped';

export interface ManagedJob {
  readonly id: string;
  readonly name: string;
  readonly plan: CompiledPlan;
  readonly job: Job;
  readonly submittedAt: number;
  state: JobState;
  error?: string;
  result?: JobResult;
  readonly done: Promise<void>;
}

const DEFAULT_STOP_TIMEOUT_MS = 30_000;
/** Limits on plans submitted over the API (with the body's 1 MiB): a plan is compiled on the service's thread. */
export const SUBMITTED_LIMITS = { nodes: 1000, columns: 10_000 } as const;

export class PlanRejected extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

/** A plan that uses what the service does not allow (HTTP 403, gRPC PERMISSION_DENIED): see policy.ts. */
export class PlanForbidden extends PlanRejected {}

/** A plan whose job name is taken by a running job (HTTP 409, gRPC ALREADY_EXISTS). */
export class JobConflict extends Error {}

export class JobManager {
  private readonly jobs = new Map<string, ManagedJob>();

  constructor(
    private readonly opts: {
      readonly plugins?: readonly string[];
      readonly onEvent?: (event: string, job: ManagedJob) => void;
      /** How long a stopped job may drain before it is terminated (`serve --stop-timeout`). */
      readonly stopTimeoutMs?: number;
    } = {},
  ) {}

  /** Compiles and starts a plan; `file` places relative paths (plugins) and error locations. A plan from the API
   * comes with the service's `policy` (what it may touch); the operator's own plans (`--plans`) come without. */
  async submit(text: string, file = '<submitted>', policy?: SubmissionPolicy): Promise<ManagedJob> {
    let plan: CompiledPlan;
    let modules: readonly string[];
    try {
      const loaded = loadPlanText(text, file);
      if (policy) {
        const doc = (loaded.value ?? {}) as Record<string, unknown>;
        const nodes = ['sources', 'operators', 'sinks'].reduce((n, k) => n + (Array.isArray(doc[k]) ? (doc[k] as unknown[]).length : 0), 0);
        if (nodes > SUBMITTED_LIMITS.nodes) throw new PlanRejected([`${file}: the plan has ${nodes} sources, operators and sinks; the service takes at most ${SUBMITTED_LIMITS.nodes}`]);
      }
      const listed = (loaded.value as { plugins?: unknown } | null)?.plugins;
      const planPlugins = Array.isArray(listed) ? listed.filter((p): p is string => typeof p === 'string').map((p) => resolve(dirname(resolve(file)), p)) : [];
      if (policy && !policy.allowPlugins && planPlugins.length)
        throw new PlanForbidden([`${file}: plugins: loading plugin modules is not allowed: the service was started without --allow-plugins`]);
      const components = await loadComponents([...(this.opts.plugins ?? []), ...planPlugins]);
      modules = components.modules;
      plan = await compilePlan(loaded, components.registry, policy ? { policy } : {});
      const widest = policy ? plan.nodes.flatMap((n) => Object.entries(n.outputs).map(([port, s]) => ({ at: `${n.id}.${port}`, width: s.fields.length }))).sort((a, b) => b.width - a.width)[0] : undefined;
      if (widest && widest.width > SUBMITTED_LIMITS.columns)
        throw new PlanRejected([`${file}: \`${widest.at.replace(/__raw\./, '.')}\` has ${widest.width} columns; the service takes at most ${SUBMITTED_LIMITS.columns} per stream`]);
    } catch (e) {
      if (e instanceof PlanRejected) throw e;
      if (e instanceof PlanErrors) throw new (e.errors.some((x) => x.code === 'forbidden') ? PlanForbidden : PlanRejected)(e.errors.map((x) => x.format()));
      if (isAbflowError(e)) throw new (e.code === 'forbidden' ? PlanForbidden : PlanRejected)([e.format()]);
      throw e;
    }
    const running = [...this.jobs.values()].find((j) => j.name === plan.name && (j.state === 'running' || j.state === 'stopping'));
    if (running) throw new JobConflict(`a job named ${plan.name} is already running (${running.id}); stop it first`);
    const job = new Job(plan, { modules });
    const entry: ManagedJob = {
      id: randomUUID(),
      name: plan.name,
      plan,
      job,
      submittedAt: Date.now(),
      state: 'running',
      done: job.run().then(
        (result) => {
          entry.result = result;
          entry.state = result.stopped ? 'stopped' : 'finished';
          this.opts.onEvent?.('job_ended', entry);
        },
        (e: unknown) => {
          entry.state = 'failed';
          entry.error = isAbflowError(e) ? e.format() : redactSecrets((e as Error).message);
          this.opts.onEvent?.('job_failed', entry);
        },
      ),
    };
    this.jobs.set(entry.id, entry);
    this.opts.onEvent?.('job_started', entry);
    return entry;
  }

  list(): ManagedJob[] {
    return [...this.jobs.values()];
  }

  get(id: string): ManagedJob | undefined {
    return this.jobs.get(id) ?? [...this.jobs.values()].reverse().find((j) => j.name === id);
  }

  /** Graceful stop: sources stop, in-flight batches drain, a last checkpoint is taken. */
  /** Asks job `id` to stop and answers at once: it drains, and is terminated if that takes longer than the stop
   * timeout; `done` settles when it has ended either way. */
  stop(id: string): ManagedJob | undefined {
    const j = this.get(id);
    if (!j) return undefined;
    if (j.state === 'running') {
      j.state = 'stopping';
      j.job.stop(this.opts.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS);
    }
    return j;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.list().map((j) => (this.stop(j.id), j.done)));
  }
}

/** A job as the API shows it. */
export function describeJob(j: ManagedJob) {
  const s = j.result ?? j.job.status();
  return {
    id: j.id,
    name: j.name,
    state: j.state,
    submittedAt: new Date(j.submittedAt).toISOString(),
    ...(j.error ? { error: j.error } : {}),
    rowsIn: s.rowsIn,
    rowsOut: s.rowsOut,
    deadLetters: s.deadLetters,
    checkpoints: s.checkpoints,
    queues: 'queues' in s ? s.queues : [],
    nodes: s.nodes.map((n) => ({ id: n.id, kind: n.kind, role: n.role, rowsIn: n.rowsIn, rowsOut: n.rowsOut, dead: n.dead, discarded: n.discarded, busyMs: Math.round(n.busyMs), ...(n.watermarkMs !== undefined ? { watermark: new Date(n.watermarkMs).toISOString() } : {}), ...(n.extra ? { metrics: n.extra } : {}) })),
    // The logical DAG (decoders the compiler inserted are folded into their sources).
    edges: j.plan.nodes.filter((n) => n.path !== null).flatMap((n) => n.inputs.map((r) => ({ from: r.node.replace(/__raw$/, ''), port: r.port, to: n.id }))),
  };
}
