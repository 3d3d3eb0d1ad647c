/**
 * `abflow serve` answers hostile and mistaken requests with the right status (issue "hardening", item 6), over real
 * HTTP and gRPC clients: an oversized plan is 413, one over the node or column limits 400, a second job of a running name is 409 (gRPC ALREADY_EXISTS), a
 * gRPC Subscribe without a token or for a job that does not exist is refused at once (it used to never answer), and
 * the token check does not depend on the token's length; a finished job's DuckDB file is released.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorized } from '../../engine/service/server.js';
import { type Served, startServe } from '../kit/serve.js';
import { query } from '../kit/duckdb.js';
import { join } from 'node:path';

const TOKEN = 'security-token-9f2c';
let served: Served;

beforeAll(async () => {
  served = await startServe(TOKEN);
}, 30_000);

afterAll(() => served.child.kill('SIGKILL'));

const api = (path: string, init: RequestInit = {}) =>
  fetch(served.base + path, { ...init, headers: { authorization: `Bearer ${TOKEN}`, ...(init.headers ?? {}) } });

/** The status a Subscribe call ends with. */
function subscribeStatus(md: grpc.Metadata, job: string): Promise<grpc.status> {
  const client = served.client();
  return new Promise((resolve) => {
    const call = client.Subscribe({ job, sink: 'out' }, md);
    call.on('data', () => undefined);
    call.on('error', (e: grpc.ServiceError) => resolve(e.code));
    call.on('end', () => resolve(grpc.status.OK));
  }).finally(() => client.close()) as Promise<grpc.status>;
}

describe('abflow serve refusals', () => {
  it('an oversized plan is 413, not 500', async () => {
    const r = await api('/jobs', { method: 'POST', body: `name: big\n# ${'x'.repeat(2 << 20)}\n` });
    expect(r.status).toBe(413);
    expect(((await r.json()) as { error: string }).error).toMatch(/at most 1048576 bytes/);
  });

  it('a plan over the node or column limits is 400 with the limit', async () => {
    const wide = `name: wide\nsources:\n  - { id: src, kind: generate, config: { generator: payments, count: 1 } }\noperators:\n  - id: d\n    kind: derive\n    inputs: [src]\n    config:\n      columns:\n${Array.from({ length: 10_050 }, (_, i) => `        c${i}: "amount + ${i}"`).join('\n')}\nsinks:\n  - { id: out, kind: blackhole, inputs: [d] }\n`;
    const w = await api('/jobs', { method: 'POST', body: wide });
    expect(w.status).toBe(400);
    expect(((await w.json()) as { problems: string[] }).problems[0]).toMatch(/`d\.out` has 10\d{3} columns; the service takes at most 10000 per stream/);
    const many = `name: many\nsources:\n  - { id: src, kind: generate, config: { generator: payments, count: 1 } }\noperators:\n${Array.from({ length: 1001 }, (_, i) => `  - { id: f${i}, kind: filter, inputs: [${i ? `f${i - 1}` : 'src'}], config: { where: "amount > 0" } }`).join('\n')}\nsinks:\n  - { id: out, kind: blackhole, inputs: [f1000] }\n`;
    const m = await api('/jobs', { method: 'POST', body: many });
    expect(m.status).toBe(400);
    expect(((await m.json()) as { problems: string[] }).problems[0]).toMatch(/1003 sources, operators and sinks; the service takes at most 1000/);
  });

  it('a second job of a running name is 409', async () => {
    const plan =
      'name: endless\nsources:\n  - { id: src, kind: generate, config: { generator: payments, rowsPerSecond: 50 } }\nsinks:\n  - { id: out, kind: blackhole, inputs: [src] }\n';
    const first = await api('/jobs', { method: 'POST', body: plan });
    expect(first.status).toBe(201);
    const second = await api('/jobs', { method: 'POST', body: plan });
    expect(second.status).toBe(409);
    expect(((await second.json()) as { error: string }).error).toMatch(/a job named endless is already running/);
    const { id } = (await first.json()) as { id: string };
    expect((await api(`/jobs/${id}`, { method: 'DELETE' })).status).toBe(200);
  });

  it('gRPC Subscribe without a token is UNAUTHENTICATED, for a job that does not exist NOT_FOUND', async () => {
    expect(await subscribeStatus(new grpc.Metadata(), 'any')).toBe(grpc.status.UNAUTHENTICATED);
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${TOKEN}`);
    expect(await subscribeStatus(md, 'no-such-job')).toBe(grpc.status.NOT_FOUND);
  });

  it('a finished job lets go of its DuckDB file: another process can open it while the service runs', async () => {
    const plan =
      'name: small\nsources:\n  - { id: src, kind: generate, config: { generator: payments, count: 100 } }\nsinks:\n  - { id: out, kind: duckdb, inputs: [src], config: { path: out/small.duckdb, table: p } }\n';
    const { id } = (await (await api('/jobs', { method: 'POST', body: plan })).json()) as { id: string };
    let state = 'running';
    for (let i = 0; i < 100 && state === 'running'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      ({ state } = (await (await api(`/jobs/${id}`)).json()) as { state: string });
    }
    expect(state).toBe('finished');
    expect(await query(join(served.dataDir, 'out/small.duckdb'), 'SELECT count(*)::INT AS n FROM p')).toEqual([{ n: 100 }]);
  });

  it('the token check takes any length of guess', () => {
    expect(authorized(TOKEN, `Bearer ${TOKEN}`)).toBe(true);
    for (const guess of ['', 'x', TOKEN.slice(0, -1), `${TOKEN}x`, TOKEN.toUpperCase()]) expect(authorized(TOKEN, `Bearer ${guess}`)).toBe(false);
    expect(authorized(TOKEN, undefined)).toBe(false);
  });
});
