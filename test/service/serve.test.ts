/**
 * `abflow serve` as deployed: bearer-token auth, plans submitted over HTTP, job status, Prometheus metrics equal to
 * the job's own counts, a graceful stop over the API, plan errors with their location, SIGTERM exits 0.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ROOT, tempDir } from '../kit/cli.js';

const TOKEN = 'test-token-123';
let child: ChildProcess;
let base = '';
let stderr = '';

beforeAll(async () => {
  child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--token-env', 'TEST_ABFLOW_TOKEN'], { cwd: tempDir('abflow-serve-'), env: { ...process.env, TEST_ABFLOW_TOKEN: TOKEN }, stdio: ['ignore', 'ignore', 'pipe'] });
  base = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /"port":(\d+),"msg":"listening"/.exec(stderr);
      if (m) resolve(`http://127.0.0.1:${m[1]}`);
    });
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
  });
}, 30_000);

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
    expect(stderr).toMatch(/"msg":"unauthenticated request refused"/);
    expect(stderr).not.toContain(TOKEN);
  });

  it('runs plans/payments.yaml submitted over HTTP; /metrics counters equal the job’s counts', async () => {
    const r = await api('/jobs', { method: 'POST', body: readFileSync(join(ROOT, 'plans/payments.yaml'), 'utf8') });
    expect(r.status).toBe(201);
    const job = (await r.json()) as { id: string; name: string; state: string };
    expect(job).toMatchObject({ name: 'payments', state: 'running' });
    type Status = { state: string; rowsIn: number; deadLetters: number; checkpoints: unknown[]; nodes: { id: string; rowsIn: number; rowsOut: number; dead: number }[]; edges: { from: string; to: string }[] };
    const done = await until(async () => (await (await api(`/jobs/${job.id}`)).json()) as Status, (s) => s.state !== 'running');
    expect(done.state).toBe('finished');
    expect(done.rowsIn).toBe(200_000);
    expect(done.edges).toContainEqual({ from: 'enrich', port: 'out', to: 'scored' });
    const text = await (await api('/metrics')).text();
    const metric = (name: string, node: string) => Number(new RegExp(`^${name}\\{job="payments",node="${node}",[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1]);
    for (const n of done.nodes) {
      expect({ node: n.id, in: metric('abflow_records_in_total', n.id), out: metric('abflow_records_out_total', n.id), dead: metric('abflow_dead_letters_total', n.id) }).toEqual({ node: n.id, in: n.rowsIn, out: n.rowsOut, dead: n.dead });
    }
    expect(Number(/^abflow_checkpoints_total\{job="payments"\} (\d+)$/m.exec(text)?.[1])).toBe(done.checkpoints.length);
    expect(text).toMatch(/^abflow_checkpoint_duration_seconds\{job="payments"\} [\d.]+$/m);
  }, 120_000);

  it('stops a running job gracefully over the API', async () => {
    const plan = 'name: endless\nsources:\n  - { id: g, kind: generate, config: { generator: clickstream, rowsPerSecond: 2000 } }\nsinks:\n  - { id: s, kind: blackhole, inputs: [g] }\n';
    const job = (await (await api('/jobs', { method: 'POST', body: plan })).json()) as { id: string };
    await until(async () => (await (await api(`/jobs/${job.id}`)).json()) as { rowsIn: number }, (s) => s.rowsIn > 0);
    const stopped = (await (await api(`/jobs/${job.id}`, { method: 'DELETE' })).json()) as { state: string; rowsIn: number };
    expect(stopped.state).toBe('stopped');
    expect(stopped.rowsIn).toBeGreaterThan(0);
  });

  it('an invalid plan is refused with each problem at its file:line:column', async () => {
    const r = await api('/jobs?file=bad.yaml', { method: 'POST', body: 'name: bad\nsources:\n  - { id: g, kind: generat }\nsinks:\n  - { id: s, kind: blackhole, inputs: [g] }\n' });
    expect(r.status).toBe(400);
    const body = (await r.json()) as { problems: string[] };
    expect(body.problems[0]).toMatch(/^bad\.yaml:3:\d+: sources\[0\]\.kind: unknown source kind `generat`\n  hint: did you mean `generate`\?/);
  });

  it('SIGTERM drains the jobs and exits 0', async () => {
    const code = await new Promise<number | null>((resolve) => {
      child.on('exit', resolve);
      child.kill('SIGTERM');
    });
    expect(code).toBe(0);
    expect(stderr).toMatch(/"msg":"stopped"/);
  });
});
