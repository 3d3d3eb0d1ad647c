/**
 * @module service/jobs
 * The jobs of `abflow serve`: plans submitted as YAML (over the API, or from a folder at start), each compiled and run
 * in a thread of its own (job-host.ts) with its own worker pool, and kept here with their status for the API, metrics
 * and dashboard. This thread only routes: it never parses a plan nor drives a job.
 */
import { randomUUID } from 'node:crypto';
import type { Worker } from 'node:worker_threads';
import type { RecordBatch } from 'apache-arrow';
import { hub, type Subscription } from '../../connectors/grpc/hub.js';
import { fromIPC, toIPC } from '../arrow/ipc.js';
import type { SubmissionPolicy } from '../policy.js';
import { siblingUrl, startThread } from '../runtime/loader.js';
import { type HostMessage, type JobHostData, type JobStatus, type LogicalEdge, schemaFromIPC, type ServiceMessage } from './job-host.js';
import { systemClock } from '../time/clock.js';

export type JobState = 'running' | 'stopping' | 'finished' | 'failed' | 'stopped';

export interface ManagedJob {
  readonly id: string;
  readonly name: string;
  /** The logical DAG (decoders the compiler inserted are folded into their sources). */
  readonly edges: readonly LogicalEdge[];
  readonly submittedAt: number;
  state: JobState;
  error?: string;
  /** The job's counters: its final result once ended, else the latest its thread reported (see refresh). */
  status: JobStatus;
  readonly done: Promise<void>;
}

const DEFAULT_STOP_TIMEOUT_MS = 30_000;
/** A plan is refused if its thread has not compiled it by then (a plan at the limits takes well under a second). */
const COMPILE_TIMEOUT_MS = 60_000;
/** How long the job thread has, beyond the stop timeout, to end by itself before its thread is ended. */
const THREAD_GRACE_MS = 5_000;
/** How long a status request waits for a busy job thread before the latest status is shown. */
const STATUS_WAIT_MS = 1_000;

export class PlanRejected extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
  }
}

/** A plan that uses what the service does not allow (HTTP 403, gRPC PERMISSION_DENIED): see policy.ts. */
export class PlanForbidden extends PlanRejected {}

/** A plan whose job name is taken by a running job (HTTP 409, gRPC ALREADY_EXISTS). */
export class JobConflict extends Error {}

/** The service's side of a job thread: its messages, the status requests waiting, and the mirrors of its gRPC points. */
class HostLink {
  private statusWaiters: (() => void)[] = [];
  private readonly pushes = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private readonly subscribers = new Map<number, Subscription>();
  private readonly mirrors = new Map<string, () => void>();
  private seq = 0;
  private entry: ManagedJob | undefined;

  constructor(readonly worker: Worker) {}

  post(m: ServiceMessage, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(m, transfer);
  }

  /** Handles the messages after `compiled`, for the job `entry`. */
  attach(entry: ManagedJob, onEnd: (ended: Extract<HostMessage, { t: 'ended' | 'failed' }>) => void): void {
    this.entry = entry;
    this.worker.on('message', (m: HostMessage) => {
      if (m.t === 'status') {
        entry.status = m.status;
        for (const w of this.statusWaiters.splice(0)) w();
      } else if (m.t === 'ended' || m.t === 'failed') onEnd(m);
      else if (m.t === 'ingest' || m.t === 'tap') this.mirror(m.t, m.key, m.schema);
      else if (m.t === 'pushed') {
        const p = this.pushes.get(m.seq);
        this.pushes.delete(m.seq);
        if (m.error) p?.reject(new Error(m.error));
        else p?.resolve();
      } else if (m.t === 'tapped') {
        const s = this.subscribers.get(m.sid);
        if (m.ipc) s?.send(fromIPC(m.ipc));
        else {
          this.subscribers.delete(m.sid);
          s?.close();
        }
      }
    });
  }

  /** Asks for a fresh status; resolves when it came, or after STATUS_WAIT_MS with the latest one kept. */
  refresh(): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, STATUS_WAIT_MS);
      this.statusWaiters.push(() => (clearTimeout(timer), resolve()));
      this.post({ t: 'status' });
    });
  }

  /** The thread is gone: whatever waits on it is let go. */
  closed(): void {
    for (const w of this.statusWaiters.splice(0)) w();
    for (const p of this.pushes.values()) p.reject(new Error(`job ${this.entry?.name} has ended`));
    this.pushes.clear();
    for (const s of this.subscribers.values()) s.close();
    this.subscribers.clear();
    for (const off of this.mirrors.values()) off();
    this.mirrors.clear();
  }

  /** Registers in this thread's hub a stand-in for the job thread's gRPC point `key` (or removes it). */
  private mirror(kind: 'ingest' | 'tap', key: string, schemaBytes: Uint8Array | undefined): void {
    this.mirrors.get(`${kind} ${key}`)?.();
    this.mirrors.delete(`${kind} ${key}`);
    if (!schemaBytes) return;
    const schema = schemaFromIPC(schemaBytes);
    const off =
      kind === 'ingest'
        ? hub.registerIngest(key, {
            schema,
            push: (batch: RecordBatch) =>
              new Promise<void>((resolve, reject) => {
                const seq = ++this.seq;
                this.pushes.set(seq, { resolve, reject });
                const ipc = toIPC(batch);
                this.post({ t: 'push', seq, key, ipc }, [ipc.buffer as ArrayBuffer]);
              }),
            finished: () => this.post({ t: 'finished', key }),
          })
        : hub.registerTap(key, {
            schema,
            subscribe: (s) => {
              const sid = ++this.seq;
              this.subscribers.set(sid, s);
              this.post({ t: 'subscribe', sid, key });
              return () => {
                if (this.subscribers.delete(sid)) this.post({ t: 'unsubscribe', sid });
              };
            },
          });
    this.mirrors.set(`${kind} ${key}`, off);
  }
}

export class JobManager {
  private readonly jobs = new Map<string, ManagedJob>();
  private readonly links = new Map<string, HostLink>();

  constructor(
    private readonly opts: {
      readonly plugins?: readonly string[];
      readonly onEvent?: (event: string, job: ManagedJob) => void;
      /** How long a stopped job may drain before it is terminated (`serve --stop-timeout`). */
      readonly stopTimeoutMs?: number;
    } = {},
  ) {}

  /** Compiles (in the job's own thread) and starts a plan; `file` places relative paths (plugins) and error
   * locations. A plan from the API comes with the service's `policy` (what it may touch); the operator's own plans
   * (`--plans`) come without. */
  async submit(text: string, file = '<submitted>', policy?: SubmissionPolicy): Promise<ManagedJob> {
    const data: JobHostData = { text, file, ...(policy ? { policy } : {}), plugins: this.opts.plugins ?? [] };
    const worker = startThread(siblingUrl(import.meta.url, 'job-host'), data);
    const link = new HostLink(worker);
    const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
    let crash: Error | undefined;
    worker.once('error', (e) => (crash = e));
    const first = await new Promise<HostMessage | { t: 'timeout' } | { t: 'exit' }>((resolve) => {
      const timer = setTimeout(() => resolve({ t: 'timeout' }), COMPILE_TIMEOUT_MS);
      worker.once('message', (m: HostMessage) => (clearTimeout(timer), resolve(m)));
      void exited.then(() => (clearTimeout(timer), resolve({ t: 'exit' })));
    });
    if (first.t !== 'compiled') {
      void worker.terminate();
      if (first.t === 'rejected') throw new (first.forbidden ? PlanForbidden : PlanRejected)(first.problems);
      if (first.t === 'timeout') throw new PlanRejected([`${file}: the plan did not compile within ${COMPILE_TIMEOUT_MS / 1000} s`]);
      throw new Error(first.t === 'error' ? first.message : `the plan's thread ended: ${crash?.message ?? 'no reason given'}`);
    }
    const running = this.list().find((j) => j.name === first.name && (j.state === 'running' || j.state === 'stopping'));
    if (running) {
      link.post({ t: 'abort' });
      throw new JobConflict(`a job named ${first.name} is already running (${running.id}); stop it first`);
    }
    let ended = false;
    const entry: ManagedJob = {
      id: randomUUID(),
      name: first.name,
      edges: first.edges,
      submittedAt: systemClock.now(),
      state: 'running',
      status: first.status,
      done: exited.then(() => {
        link.closed();
        if (ended) return;
        entry.state = 'failed';
        entry.error = `the job's thread ended without finishing the job: ${crash?.message ?? 'it was ended after the stop timeout'}`;
        this.opts.onEvent?.('job_failed', entry);
      }),
    };
    link.attach(entry, (m) => {
      ended = true;
      if (m.t === 'ended') {
        entry.status = { ...m.result, queues: [] };
        entry.state = m.result.stopped ? 'stopped' : 'finished';
        this.opts.onEvent?.('job_ended', entry);
      } else {
        entry.status = m.status;
        entry.state = 'failed';
        entry.error = m.error;
        this.opts.onEvent?.('job_failed', entry);
      }
      // The job has closed everything it opened; a thread that lingers (a handle a plugin left open) is ended.
      setTimeout(() => void worker.terminate(), THREAD_GRACE_MS).unref();
    });
    this.jobs.set(entry.id, entry);
    this.links.set(entry.id, link);
    link.post({ t: 'start' });
    this.opts.onEvent?.('job_started', entry);
    return entry;
  }

  list(): ManagedJob[] {
    return [...this.jobs.values()];
  }

  get(id: string): ManagedJob | undefined {
    return this.jobs.get(id) ?? [...this.jobs.values()].reverse().find((j) => j.name === id);
  }

  /** Brings the status of every live job up to date (a job thread too busy to answer keeps its latest status). */
  async refresh(): Promise<void> {
    await Promise.all(this.list().flatMap((j) => (j.state === 'running' || j.state === 'stopping' ? [this.links.get(j.id)!.refresh()] : [])));
  }

  /** Asks job `id` to stop and answers at once: it drains, and is terminated if that takes longer than the stop
   * timeout; `done` settles when it has ended either way. A job thread that does not end by itself soon after is
   * ended. */
  stop(id: string): ManagedJob | undefined {
    const j = this.get(id);
    if (!j) return undefined;
    if (j.state === 'running') {
      j.state = 'stopping';
      const graceMs = this.opts.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
      const link = this.links.get(j.id)!;
      link.post({ t: 'stop', graceMs });
      const backstop = setTimeout(() => void link.worker.terminate(), graceMs + THREAD_GRACE_MS);
      void j.done.then(() => clearTimeout(backstop));
    }
    return j;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.list().map((j) => (this.stop(j.id), j.done)));
  }
}

/** A job as the API shows it. */
export function describeJob(j: ManagedJob) {
  const s = j.status;
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
    queues: s.queues,
    nodes: s.nodes.map((n) => ({
      id: n.id,
      kind: n.kind,
      role: n.role,
      rowsIn: n.rowsIn,
      rowsOut: n.rowsOut,
      dead: n.dead,
      discarded: n.discarded,
      busyMs: Math.round(n.busyMs),
      ...(n.watermarkMs !== undefined ? { watermark: new Date(n.watermarkMs).toISOString() } : {}),
      ...(n.extra ? { metrics: n.extra } : {}),
    })),
    edges: j.edges,
  };
}
