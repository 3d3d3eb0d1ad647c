/**
 * `abflow serve` as deployed: bearer-token auth, plans submitted over HTTP, job status, Prometheus metrics equal to
 * the job's own counts, a graceful stop over the API, plan errors with their location, SIGTERM exits 0.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { batchFromRows } from '../../engine/arrow/columns.js';
import { fromIPC, toIPC } from '../../engine/arrow/ipc.js';
import { schemaOf } from '../../engine/types.js';
import { ROOT } from '../kit/cli.js';
import { type Served, startServe } from '../kit/serve.js';

const TOKEN = 'test-token-123';
let served: Served;
let child: ChildProcess;
let base = '';

beforeAll(async () => {
  served = await startServe(TOKEN);
  ({ child, base } = served);
}, 30_000);

const abflowClient = () => served.client();

afterAll(() => child.kill('SIGKILL'));

const api = (path: string, init: RequestInit = {}) => fetch(base + path, { ...init, headers: { authorization: `Bearer ${TOKEN}`, ...(init.headers ?? {}) } });

async function until<T>(f: () => Promise<T>, ok: (v: T) => boolean, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('abflow serve', () => {
  it('refuses calls without the right token; probes need none', async () => {
    expect((await fetch(base + '/jobs')).status).toBe(401);
    expect((await fetch(base + '/metrics', { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await fetch(base + '/healthz')).status).toBe(200);
    expect((await fetch(base + '/readyz')).status).toBe(200);
    expect(served.stderr()).toMatch(/"msg":"unauthenticated request refused"/);
    expect(served.stderr()).not.toContain(TOKEN);
  });

  it('runs plans/payments.yaml submitted over HTTP; /metrics counters equal the job’s counts', async () => {
    const r = await api('/jobs', { method: 'POST', body: readFileSync(join(ROOT, 'plans/payments.yaml'), 'utf8') });
    expect(r.status).toBe(201);
    const job = (await r.json()) as { id: string; name: string; state: string };
    expect(job).toMatchObject({ name: 'payments', state: 'running' });
    type Status = {
      state: string;
      rowsIn: number;
      deadLetters: number;
      checkpoints: unknown[];
      nodes: { id: string; rowsIn: number; rowsOut: number; dead: number }[];
      edges: { from: string; to: string }[];
    };
    const done = await until(
      async () => (await (await api(`/jobs/${job.id}`)).json()) as Status,
      (s) => s.state !== 'running',
    );
    expect(done.state).toBe('finished');
    expect(done.rowsIn).toBe(200_000);
    expect(done.edges).toContainEqual({ from: 'enrich', port: 'out', to: 'scored' });
    const text = await (await api('/metrics')).text();
    const metric = (name: string, node: string) => Number(new RegExp(`^${name}\\{job="payments",node="${node}",[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1]);
    for (const n of done.nodes) {
      expect({
        node: n.id,
        in: metric('abflow_records_in_total', n.id),
        out: metric('abflow_records_out_total', n.id),
        dead: metric('abflow_dead_letters_total', n.id),
      }).toEqual({ node: n.id, in: n.rowsIn, out: n.rowsOut, dead: n.dead });
    }
    expect(Number(/^abflow_checkpoints_total\{job="payments"\} (\d+)$/m.exec(text)?.[1])).toBe(done.checkpoints.length);
    expect(text).toMatch(/^abflow_checkpoint_duration_seconds\{job="payments"\} [\d.]+$/m);
    // Per-batch processing time: a histogram whose +Inf bucket is its count; event time per node.
    const count = Number(/^abflow_batch_duration_seconds_count\{job="payments",node="enrich"\} (\d+)$/m.exec(text)?.[1]);
    expect(count).toBeGreaterThanOrEqual(Math.ceil(200_000 / 8192));
    expect(text).toContain(`abflow_batch_duration_seconds_bucket{job="payments",node="enrich",le="+Inf"} ${count}`);
    expect(text).toMatch(/^abflow_watermark_lag_seconds\{job="payments",node="customer_5m"\} [\d.]+$/m);
  }, 120_000);

  it('stops a running job gracefully over the API', async () => {
    const plan =
      'name: endless\nsources:\n  - { id: g, kind: generate, config: { generator: clickstream, rowsPerSecond: 2000 } }\nsinks:\n  - { id: s, kind: blackhole, inputs: [g] }\n';
    const job = (await (await api('/jobs', { method: 'POST', body: plan })).json()) as { id: string };
    await until(
      async () => (await (await api(`/jobs/${job.id}`)).json()) as { rowsIn: number },
      (s) => s.rowsIn > 0,
    );
    // DELETE answers at once; the job drains and reaches `stopped`.
    const asked = (await (await api(`/jobs/${job.id}`, { method: 'DELETE' })).json()) as { state: string };
    expect(['stopping', 'stopped']).toContain(asked.state);
    const stopped = await until(
      async () => (await (await api(`/jobs/${job.id}`)).json()) as { state: string; rowsIn: number },
      (s) => s.state !== 'stopping',
    );
    expect(stopped.state).toBe('stopped');
    expect(stopped.rowsIn).toBeGreaterThan(0);
  });

  it('an invalid plan is refused with each problem at its file:line:column', async () => {
    const r = await api('/jobs?file=bad.yaml', {
      method: 'POST',
      body: 'name: bad\nsources:\n  - { id: g, kind: generat }\nsinks:\n  - { id: s, kind: blackhole, inputs: [g] }\n',
    });
    expect(r.status).toBe(400);
    const body = (await r.json()) as { problems: string[] };
    expect(body.problems[0]).toMatch(/^bad\.yaml:3:\d+: sources\[0\]\.kind: unknown source kind `generat`\n  hint: did you mean `generate`\?/);
  });

  it('gRPC: refuses calls without the token; submits plans/payments.yaml; streams 100 k records in and out; metrics match', async () => {
    const client = abflowClient();
    const call = <T>(method: string, req: unknown, token = TOKEN) =>
      new Promise<T>((resolve, reject) => {
        const md = new grpc.Metadata();
        if (token) md.set('authorization', `Bearer ${token}`);
        (client as unknown as Record<string, (r: unknown, m: grpc.Metadata, cb: (e: Error | null, v: T) => void) => void>)[method]!(req, md, (e, v) =>
          e ? reject(e) : resolve(v),
        );
      });
    await expect(call('ListJobs', {}, '')).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    const submitted = await call<{ id: string; state: string }>('SubmitJob', {
      plan_yaml: readFileSync(join(ROOT, 'plans/payments.yaml'), 'utf8'),
      file: 'plans/payments.yaml',
    });
    expect(submitted.state).toBe('running');
    const finished = await until(
      () => call<{ state: string; rows_in: number }>('GetJob', { id: submitted.id }),
      (j) => j.state !== 'running',
    );
    expect(finished).toMatchObject({ state: 'finished', rows_in: 200_000 });
    // Sidecar ingest: a plan with a grpc source and a grpc sink; subscribe, then stream 100 k records in.
    const plan =
      'name: sidecar\nsources:\n  - { id: events, kind: grpc, config: { schema: { id: int64, v: float64 }, endAfterIngest: true } }\noperators:\n  - { id: doubled, kind: derive, inputs: [events], config: { columns: { v2: v * 2 } } }\nsinks:\n  - { id: live, kind: grpc, inputs: [doubled] }\n';
    const job = await call<{ id: string }>('SubmitJob', { plan_yaml: plan });
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${TOKEN}`);
    let subscribed = 0;
    let sum = 0;
    const sub = await until(
      async () => {
        const s = client.Subscribe({ job: 'sidecar', sink: 'live' }, md);
        const ok = await new Promise<boolean>((resolve) => {
          s.once('error', () => resolve(false));
          setTimeout(() => resolve(true), 300);
        });
        return ok ? s : null;
      },
      (s) => s !== null,
    );
    const ended = new Promise<void>((resolve) => sub!.on('end', resolve).on('error', () => resolve()));
    sub!.on('data', (m: { arrow_ipc: Uint8Array }) => {
      const b = fromIPC(m.arrow_ipc);
      subscribed += b.numRows;
      const v2 = b.getChild('v2')!;
      for (let i = 0; i < b.numRows; i++) sum += Number(v2.get(i));
    });
    const ingest = await new Promise<{ records: number; batches: number }>((resolve, reject) => {
      const stream = client.Ingest(md, (e, r) => (e ? reject(e) : resolve(r)));
      for (let b = 0; b < 10; b++) {
        const rows = Array.from({ length: 10_000 }, (_, i) => ({ id: b * 10_000 + i, v: 1.5 }));
        stream.write({ job: 'sidecar', source: 'events', arrow_ipc: toIPC(batchFromRows(schemaOf({ id: 'int64', v: 'float64' }), rows)) });
      }
      stream.end();
    });
    expect(ingest).toEqual({ records: 100_000, batches: 10 });
    const done = await until(
      async () => (await (await api(`/jobs/${job.id}`)).json()) as { state: string; rowsIn: number },
      (s) => s.state !== 'running',
    );
    expect(done).toMatchObject({ state: 'finished', rowsIn: 100_000 });
    await ended;
    expect(subscribed).toBe(100_000);
    expect(sum).toBe(300_000);
    const text = await (await api('/metrics')).text();
    expect(text).toMatch(/^abflow_records_out_total\{job="sidecar",node="events",kind="grpc",role="source"\} 100000$/m);
    expect(text).toMatch(/^abflow_records_in_total\{job="sidecar",node="live",kind="grpc",role="sink"\} 100000$/m);
    // A batch of the wrong schema is refused to the client.
    await expect(
      new Promise((resolve, reject) => {
        const s = client.Ingest(md, (e, r) => (e ? reject(e) : resolve(r)));
        s.write({ job: 'sidecar', source: 'events', arrow_ipc: toIPC(batchFromRows(schemaOf({ x: 'string' }), [{ x: 'a' }])) });
        s.end();
      }),
    ).rejects.toMatchObject({ code: expect.any(Number) });
    client.close();
  }, 120_000);

  it('SIGTERM drains the jobs and exits 0', async () => {
    const code = await new Promise<number | null>((resolve) => {
      child.on('exit', resolve);
      child.kill('SIGTERM');
    });
    expect(code).toBe(0);
    expect(served.stderr()).toMatch(/"msg":"stopped"/);
  });
});
