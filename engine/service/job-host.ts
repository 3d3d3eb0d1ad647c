/**
 * @module service/job-host
 * One served job's thread. `abflow serve` keeps its own thread for HTTP and gRPC only: parsing, checking and compiling
 * a submitted plan, and coordinating its run, happen here, so neither a huge plan nor a busy job delays another
 * request (issue "hardening": the service compiles off its event loop). The protocol with jobs.ts:
 * - here → service: `compiled` (name, logical edges, first status) or `rejected` (problems) or `error`; then `status`
 *   answers, `ended`/`failed`, and mirrors of this thread's gRPC hub (`ingest`/`tap` points, pushed acks, tapped
 *   batches);
 * - service → here: `start` or `abort` (after the name check), `status`, `stop`, `push`/`finished` (Ingest), and
 *   `subscribe`/`unsubscribe` (Subscribe).
 * Batches cross as Arrow IPC bytes (arrow/ipc.ts), schemas as an IPC stream with no batch.
 */
import { dirname, resolve } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { type Schema, Table, tableFromIPC, tableToIPC } from 'apache-arrow';
import { hub } from '../../connectors/grpc/hub.js';
import { fromIPC, toIPC } from '../arrow/ipc.js';
import { loadComponents } from '../builtins.js';
import { compilePlan } from '../compile/compile.js';
import { isAbflowError, PlanErrors } from '../errors.js';
import { loadPlanText } from '../plan/load.js';
import type { SubmissionPolicy } from '../policy.js';
import { redactSecrets } from '../redact.js';
import { Job, type JobResult } from '../runtime/job.js';

export interface JobHostData {
  readonly text: string;
  readonly file: string;
  readonly policy?: SubmissionPolicy;
  readonly plugins: readonly string[];
}

export type JobStatus = ReturnType<Job['status']>;
export interface LogicalEdge {
  readonly from: string;
  readonly port: string;
  readonly to: string;
}

export type HostMessage =
  | { readonly t: 'compiled'; readonly name: string; readonly edges: readonly LogicalEdge[]; readonly status: JobStatus }
  | { readonly t: 'rejected'; readonly forbidden: boolean; readonly problems: readonly string[] }
  | { readonly t: 'error'; readonly message: string }
  | { readonly t: 'status'; readonly status: JobStatus }
  | { readonly t: 'ended'; readonly result: JobResult }
  | { readonly t: 'failed'; readonly error: string; readonly status: JobStatus }
  | { readonly t: 'ingest' | 'tap'; readonly key: string; readonly schema?: Uint8Array }
  | { readonly t: 'pushed'; readonly seq: number; readonly error?: string }
  | { readonly t: 'tapped'; readonly sid: number; readonly ipc?: Uint8Array };

export type ServiceMessage =
  | { readonly t: 'start' | 'abort' | 'status' }
  | { readonly t: 'stop'; readonly graceMs: number }
  | { readonly t: 'push'; readonly seq: number; readonly key: string; readonly ipc: Uint8Array }
  | { readonly t: 'finished'; readonly key: string }
  | { readonly t: 'subscribe'; readonly sid: number; readonly key: string }
  | { readonly t: 'unsubscribe'; readonly sid: number };

/** Limits on plans submitted over the API (besides the body's 1 MiB), checked here before the service accepts one. */
export const SUBMITTED_LIMITS = { nodes: 1000, columns: 10_000 } as const;

export const schemaToIPC = (schema: Schema): Uint8Array => tableToIPC(new Table(schema), 'stream');
export const schemaFromIPC = (bytes: Uint8Array): Schema => tableFromIPC(bytes).schema;

/** Why a plan is refused: the problems, and whether they are a policy refusal (403) rather than errors (400). */
class Refusal {
  constructor(
    readonly forbidden: boolean,
    readonly problems: readonly string[],
  ) {}
}

/** Parses, checks and compiles the plan; throws a Refusal for what the submitter got wrong. */
async function compileSubmitted({ text, file, policy, plugins }: JobHostData) {
  try {
    const loaded = loadPlanText(text, file);
    const doc = (loaded.value ?? {}) as Record<string, unknown>;
    if (policy) {
      const nodes = ['sources', 'operators', 'sinks'].reduce((n, k) => n + (Array.isArray(doc[k]) ? (doc[k] as unknown[]).length : 0), 0);
      if (nodes > SUBMITTED_LIMITS.nodes)
        throw new Refusal(false, [`${file}: the plan has ${nodes} sources, operators and sinks; the service takes at most ${SUBMITTED_LIMITS.nodes}`]);
    }
    const listed = doc.plugins;
    const planPlugins = Array.isArray(listed) ? listed.filter((p): p is string => typeof p === 'string').map((p) => resolve(dirname(resolve(file)), p)) : [];
    if (policy && !policy.allowPlugins && planPlugins.length)
      throw new Refusal(true, [`${file}: plugins: loading plugin modules is not allowed: the service was started without --allow-plugins`]);
    const components = await loadComponents([...plugins, ...planPlugins]);
    const plan = await compilePlan(loaded, components.registry, policy ? { policy } : {});
    if (policy) {
      const widest = plan.nodes
        .flatMap((n) => Object.entries(n.outputs).map(([port, s]) => ({ at: `${n.decodedBy ?? n.id}.${port}`, width: s.fields.length })))
        .sort((a, b) => b.width - a.width)[0];
      if (widest && widest.width > SUBMITTED_LIMITS.columns)
        throw new Refusal(false, [`${file}: \`${widest.at}\` has ${widest.width} columns; the service takes at most ${SUBMITTED_LIMITS.columns} per stream`]);
    }
    return { plan, modules: components.modules };
  } catch (e) {
    if (e instanceof PlanErrors)
      throw new Refusal(
        e.errors.some((x) => x.code === 'forbidden'),
        e.errors.map((x) => x.format()),
      );
    if (isAbflowError(e)) throw new Refusal(e.code === 'forbidden', [e.format()]);
    throw e;
  }
}

async function host(port: NonNullable<typeof parentPort>, data: JobHostData): Promise<void> {
  const post = (m: HostMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
  let compiled;
  try {
    compiled = await compileSubmitted(data);
  } catch (e) {
    post(e instanceof Refusal ? { t: 'rejected', forbidden: e.forbidden, problems: e.problems } : { t: 'error', message: redactSecrets((e as Error).message) });
    return;
  }
  const { plan, modules } = compiled;
  const job = new Job(plan, { modules });
  const unsubscribe = new Map<number, () => void>();
  const unwatch = hub.watch((c) => post({ t: c.kind, key: c.key, ...(c.point ? { schema: schemaToIPC(c.point.schema) } : {}) }));
  const go = new Promise<boolean>((resolveGo) => {
    port.on('message', (m: ServiceMessage) => {
      if (m.t === 'start' || m.t === 'abort') resolveGo(m.t === 'start');
      else if (m.t === 'status') post({ t: 'status', status: job.status() });
      else if (m.t === 'stop') job.stop(m.graceMs);
      else if (m.t === 'push') {
        const point = hub.ingest(m.key);
        if (!point) post({ t: 'pushed', seq: m.seq, error: `the grpc source ${m.key} has ended` });
        else
          point.push(fromIPC(m.ipc)).then(
            () => post({ t: 'pushed', seq: m.seq }),
            (e: Error) => post({ t: 'pushed', seq: m.seq, error: e.message }),
          );
      } else if (m.t === 'finished') hub.ingest(m.key)?.finished();
      else if (m.t === 'subscribe') {
        const tap = hub.tap(m.key);
        if (!tap) post({ t: 'tapped', sid: m.sid });
        else
          unsubscribe.set(
            m.sid,
            tap.subscribe({
              send(batch) {
                const ipc = toIPC(batch);
                post({ t: 'tapped', sid: m.sid, ipc }, [ipc.buffer as ArrayBuffer]);
              },
              close: () => post({ t: 'tapped', sid: m.sid }),
            }),
          );
      } else if (m.t === 'unsubscribe') {
        unsubscribe.get(m.sid)?.();
        unsubscribe.delete(m.sid);
      }
    });
  });
  const planId = new Map(plan.nodes.map((n) => [n.id, n.decodedBy ?? n.id]));
  const edges = plan.nodes.filter((n) => n.path !== null).flatMap((n) => n.inputs.map((r) => ({ from: planId.get(r.node)!, port: r.port, to: n.id })));
  post({ t: 'compiled', name: plan.name, edges, status: job.status() });
  try {
    if (await go) post({ t: 'ended', result: await job.run() });
  } catch (e) {
    post({ t: 'failed', error: isAbflowError(e) ? e.format() : redactSecrets((e as Error).message), status: job.status() });
  } finally {
    unwatch();
    port.close();
  }
}

if (parentPort) void host(parentPort, workerData as JobHostData);
