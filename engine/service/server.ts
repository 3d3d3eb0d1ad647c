/**
 * @module service/server
 * `abflow serve`: jobs over HTTP. Routes (JSON unless noted):
 * - `GET /healthz` (alive), `GET /readyz` (serving) — no token needed, for probes; `GET /dashboard` (the page,
 *   dashboard.ts; its API calls need the token);
 * - `GET /metrics` — Prometheus text;
 * - `GET /jobs`, `POST /jobs` (body: plan YAML) → 201 with the job, 400 with the plan's errors, 409 when a job of that
 *   name is running, 403 when it uses what the service does not allow (policy.ts), 413 over 1 MiB;
 * - `GET /jobs/{id or name}`, `GET /jobs/{id}/checkpoints`, `DELETE /jobs/{id}` (graceful stop).
 * With a token (from the environment), every other route needs `Authorization: Bearer <token>`; the comparison is
 * constant-time and does not depend on the token's length. Logs are JSON lines (pino); plan texts and secrets are never logged.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Logger } from 'pino';
import { redactSecrets } from '../redact.js';
import { DASHBOARD_HTML } from './dashboard.js';
import type { SubmissionPolicy } from '../policy.js';
import { describeJob, JobConflict, type JobManager, PlanForbidden, PlanRejected } from './jobs.js';
import { jobMetrics } from './metrics.js';

export interface ServeOptions {
  readonly host: string;
  readonly port: number;
  readonly token?: string | undefined;
  readonly jobs: JobManager;
  /** What submitted plans may touch. */
  readonly policy: SubmissionPolicy;
  readonly log: Logger;
  /** PEM certificate and key: HTTPS instead of HTTP. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer } | undefined;
}

const MAX_PLAN_BYTES = 1 << 20;

/** Whether `header` carries the bearer token. Both sides are hashed first, so the constant-time comparison also
 * hides the token's length. */
export function authorized(token: string | undefined, header: string | undefined): boolean {
  if (!token) return true;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(/^Bearer (.+)$/.exec(header ?? '')?.[1] ?? ''), digest(token));
}

/** A request body over the limit (HTTP 413). */
class TooLarge extends Error {}

export async function startServer(o: ServeOptions): Promise<Server> {
  const metrics = jobMetrics(o.jobs);
  const json = (res: ServerResponse, status: number, body: unknown) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body, null, 2) + '\n');
  const body = (req: IncomingMessage) =>
    new Promise<string>((resolve, reject) => {
      const tooLarge = () => new TooLarge(`a plan may have at most ${MAX_PLAN_BYTES} bytes`);
      if (Number(req.headers['content-length'] ?? 0) > MAX_PLAN_BYTES) return reject(tooLarge());
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_PLAN_BYTES) reject(tooLarge());
        else chunks.push(c);
      });
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const parts = url.pathname.split('/').filter(Boolean);
    if (url.pathname === '/healthz') return json(res, 200, { status: 'ok' });
    if (url.pathname === '/readyz') return json(res, 200, { status: 'ready', jobs: o.jobs.list().length });
    // The page itself holds no data; the API calls it makes carry the token.
    if (url.pathname === '/dashboard' || url.pathname === '/') return res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(DASHBOARD_HTML);
    if (!authorized(o.token, req.headers.authorization)) {
      o.log.warn({ path: url.pathname, remote: req.socket.remoteAddress }, 'unauthenticated request refused');
      return res.writeHead(401, { 'www-authenticate': 'Bearer', 'content-type': 'application/json' }).end('{"error":"missing or wrong bearer token"}\n');
    }
    if (req.method === 'GET') await o.jobs.refresh();
    if (url.pathname === '/metrics') return res.writeHead(200, { 'content-type': metrics.contentType }).end(await metrics.metrics());
    if (parts[0] !== 'jobs') return json(res, 404, { error: 'not found' });
    if (parts.length === 1 && req.method === 'GET') return json(res, 200, o.jobs.list().map(describeJob));
    if (parts.length === 1 && req.method === 'POST') {
      try {
        const j = await o.jobs.submit(await body(req), url.searchParams.get('file') ?? '<submitted>', o.policy);
        return json(res, 201, describeJob(j));
      } catch (e) {
        if (e instanceof PlanForbidden) return json(res, 403, { error: 'the plan uses what this service does not allow', problems: e.problems });
        if (e instanceof PlanRejected) return json(res, 400, { error: 'invalid plan', problems: e.problems });
        if (e instanceof JobConflict) return json(res, 409, { error: e.message });
        if (e instanceof TooLarge)
          return res.writeHead(413, { 'content-type': 'application/json', connection: 'close' }).end(JSON.stringify({ error: e.message }) + '\n');
        throw e;
      }
    }
    const j = parts[1] ? o.jobs.get(decodeURIComponent(parts[1])) : undefined;
    if (!j) return json(res, 404, { error: `no job ${parts[1]}` });
    if (parts.length === 2 && req.method === 'GET') return json(res, 200, describeJob(j));
    if (parts.length === 2 && req.method === 'DELETE') return json(res, 200, describeJob((await o.jobs.stop(j.id))!));
    if (parts[2] === 'checkpoints' && req.method === 'GET') return json(res, 200, { job: j.name, checkpoints: describeJob(j).checkpoints });
    return json(res, 405, { error: `${req.method} ${url.pathname} is not supported` });
  };
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((e: Error) => {
      o.log.error({ err: redactSecrets(e.message), path: req.url }, 'request failed');
      if (!res.headersSent) json(res, 500, { error: redactSecrets(e.message) });
    });
  };
  const server = o.tls ? createHttpsServer({ cert: o.tls.cert, key: o.tls.key }, listener) : createServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, resolve);
  });
  return server;
}
