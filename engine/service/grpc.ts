/**
 * @module service/grpc
 * The gRPC API of `abflow serve` (proto/abflow/v1/abflow.proto, loaded with @grpc/proto-loader): job control as on
 * HTTP, `Ingest` (client-streamed Arrow IPC batches into a job's `grpc` source, with backpressure: the next message
 * is read only when the job took the previous batch) and `Subscribe` (a job's `grpc` sink, server-streamed).
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { Logger } from 'pino';
import { hub } from '../../connectors/grpc/hub.js';
import { fromIPC, toIPC } from '../arrow/ipc.js';
import { redactSecrets } from '../redact.js';
import type { SubmissionPolicy } from '../policy.js';
import { describeJob, JobConflict, type JobManager, type ManagedJob, PlanForbidden, PlanRejected } from './jobs.js';
import { authorized } from './server.js';

const PROTO = fileURLToPath(
  new URL(import.meta.url.includes('/dist/') ? '../../../proto/abflow/v1/abflow.proto' : '../../proto/abflow/v1/abflow.proto', import.meta.url),
);

type Call =
  | grpc.ServerUnaryCall<Record<string, string>, unknown>
  | grpc.ServerReadableStream<Record<string, unknown>, unknown>
  | grpc.ServerWritableStream<Record<string, string>, unknown>;

function toMessage(j: ManagedJob) {
  const d = describeJob(j);
  return {
    id: d.id,
    name: d.name,
    state: d.state,
    rows_in: d.rowsIn,
    rows_out: d.rowsOut,
    dead_letters: d.deadLetters,
    checkpoints: d.checkpoints.length,
    error: d.error ?? '',
    status_json: JSON.stringify(d),
  };
}

const status = (code: grpc.status, details: string) => Object.assign(new Error(redactSecrets(details)), { code, details: redactSecrets(details) });

export async function startGrpc(o: {
  host: string;
  port: number;
  token?: string | undefined;
  jobs: JobManager;
  policy: SubmissionPolicy;
  log: Logger;
  tls?: { cert: Buffer; key: Buffer } | undefined;
}): Promise<{ server: grpc.Server; port: number }> {
  const def = protoLoader.loadSync(PROTO, { longs: Number, defaults: true, keepCase: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { abflow: { v1: { Abflow: { service: grpc.ServiceDefinition } } } };
  const allowed = (call: Call) => {
    if (authorized(o.token, call.metadata.get('authorization')[0]?.toString())) return true;
    o.log.warn({ peer: call.getPeer() }, 'unauthenticated gRPC call refused');
    return false;
  };
  const unary =
    (f: (req: Record<string, string>) => Promise<unknown>) =>
    (call: grpc.ServerUnaryCall<Record<string, string>, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      if (!allowed(call)) return cb(status(grpc.status.UNAUTHENTICATED, 'missing or wrong bearer token'));
      f(call.request).then(
        (v) => cb(null, v),
        (e: Error & { code?: number }) =>
          cb(
            e.code !== undefined
              ? e
              : status(
                  e instanceof PlanForbidden
                    ? grpc.status.PERMISSION_DENIED
                    : e instanceof PlanRejected
                      ? grpc.status.INVALID_ARGUMENT
                      : e instanceof JobConflict
                        ? grpc.status.ALREADY_EXISTS
                        : grpc.status.INTERNAL,
                  e.message,
                ),
          ),
      );
    };
  const job = (id: string) => {
    const j = o.jobs.get(id);
    if (!j) throw status(grpc.status.NOT_FOUND, `no job ${id}`);
    return j;
  };
  const server = new grpc.Server();
  server.addService(pkg.abflow.v1.Abflow.service, {
    SubmitJob: unary(async (r) => toMessage(await o.jobs.submit(r.plan_yaml!, r.file || '<submitted>', o.policy))),
    ListJobs: unary(async () => (await o.jobs.refresh(), { jobs: o.jobs.list().map(toMessage) })),
    GetJob: unary(async (r) => (await o.jobs.refresh(), toMessage(job(r.id!)))),
    StopJob: unary(async (r) => toMessage((await o.jobs.stop(job(r.id!).id))!)),
    Ingest(call: grpc.ServerReadableStream<Record<string, unknown>, unknown>, cb: grpc.sendUnaryData<unknown>) {
      if (!allowed(call)) return cb(status(grpc.status.UNAUTHENTICATED, 'missing or wrong bearer token'));
      void (async () => {
        let point: ReturnType<typeof hub.ingest>;
        let records = 0;
        let batches = 0;
        for await (const m of call) {
          if (!point) {
            const j = job(String(m.job));
            point = hub.ingest(`${j.name}/${String(m.source)}`);
            if (!point) throw status(grpc.status.NOT_FOUND, `job ${j.name} has no running grpc source '${String(m.source)}'`);
          }
          const batch = fromIPC(m.arrow_ipc as Uint8Array);
          const want = point.schema.fields.map((f) => `${f.name}:${f.type}`).join(', ');
          const got = batch.schema.fields.map((f) => `${f.name}:${f.type}`).join(', ');
          if (want !== got) throw status(grpc.status.INVALID_ARGUMENT, `batch schema (${got}) is not the source's (${want})`);
          await point.push(batch);
          records += batch.numRows;
          batches++;
        }
        point?.finished();
        return { records, batches };
      })().then(
        (r) => cb(null, r),
        (e: Error & { code?: number }) => cb(e.code !== undefined ? e : status(grpc.status.INVALID_ARGUMENT, e.message)),
      );
    },
    Subscribe(call: grpc.ServerWritableStream<Record<string, string>, unknown>) {
      // A server stream answers an error by emitting it: grpc-js then sends its status (destroy() sent nothing and
      // left the client waiting).
      const refuse = (code: grpc.status, details: string) => void call.emit('error', status(code, details));
      if (!allowed(call)) return refuse(grpc.status.UNAUTHENTICATED, 'missing or wrong bearer token');
      const j = o.jobs.get(call.request.job!);
      if (!j) return refuse(grpc.status.NOT_FOUND, `no job ${call.request.job}`);
      const tap = hub.tap(`${j.name}/${call.request.sink}`);
      if (!tap) return refuse(grpc.status.NOT_FOUND, `job ${j.name} has no running grpc sink '${call.request.sink}'`);
      const off = tap.subscribe({ send: (b) => call.write({ arrow_ipc: toIPC(b) }), close: () => call.end() });
      call.on('cancelled', off);
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      `${o.host}:${o.port}`,
      o.tls ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: o.tls.cert, private_key: o.tls.key }]) : grpc.ServerCredentials.createInsecure(),
      (e, p) => (e ? reject(e) : resolve(p)),
    ),
  );
  return { server, port };
}
