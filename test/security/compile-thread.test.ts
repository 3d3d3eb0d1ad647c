/**
 * `abflow serve` compiles a submitted plan off its event loop (issue "hardening", item 4): a plan whose compilation
 * holds its thread for seconds (a plugin operator whose schema step busy-waits, standing in for any slow compile)
 * does not hold the service — health checks and the job list answer while the POST is still compiling, and the
 * job then runs. An ordering check, not a timing one: on the service's own thread, nothing could answer before the
 * compilation ends.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../kit/cli.js';
import { type Served, startServe } from '../kit/serve.js';

const TOKEN = 'compile-thread-token-41ab';
const BUSY_MS = 4000;
let served: Served;

beforeAll(async () => {
  served = await startServe(TOKEN, ['--allow-plugins']);
  mkdirSync(join(served.dataDir, 'node_modules'));
  symlinkSync(ROOT, join(served.dataDir, 'node_modules/abflow'));
  writeFileSync(
    join(served.dataDir, 'slow.mjs'),
    `import { defineOperator, z } from 'abflow/api';
export const abflowComponents = [defineOperator({
  kind: 'slow_to_compile', summary: 'holds its thread while its output schema is derived', examples: [],
  config: z.object({}).strict(),
  outputSchemas: (cfg, [input]) => { const end = Date.now() + ${BUSY_MS}; while (Date.now() < end); return { out: input }; },
  create: () => ({ processBatch: (batch) => ({ out: batch }) }),
})];
`,
  );
}, 30_000);

afterAll(() => served.child.kill('SIGKILL'));

const api = (path: string, init: RequestInit = {}) =>
  fetch(served.base + path, { ...init, headers: { authorization: `Bearer ${TOKEN}`, ...(init.headers ?? {}) } });

describe('abflow serve compiles off its event loop', () => {
  it('answers health checks and the job list while a slow plan compiles, then runs it', async () => {
    const plan =
      'name: slow\nplugins: [slow.mjs]\nsources:\n  - { id: src, kind: generate, config: { generator: payments, count: 10 } }\noperators:\n  - { id: s, kind: slow_to_compile, inputs: [src] }\nsinks:\n  - { id: out, kind: blackhole, inputs: [s] }\n';
    const order: string[] = [];
    const submitted = api('/jobs', { method: 'POST', body: plan }).then(async (r) => (order.push('submitted'), r));
    await new Promise((r) => setTimeout(r, BUSY_MS / 4));
    const health = await fetch(served.base + '/healthz');
    order.push(`healthz ${health.status}`);
    const list = await api('/jobs');
    order.push(`jobs ${list.status}`);
    const r = await submitted;
    expect(order).toEqual(['healthz 200', 'jobs 200', 'submitted']);
    expect(r.status).toBe(201);
    const { id } = (await r.json()) as { id: string };
    let state = 'running';
    for (let i = 0; i < 100 && state === 'running'; i++) {
      await new Promise((res) => setTimeout(res, 100));
      ({ state } = (await (await api(`/jobs/${id}`)).json()) as { state: string });
    }
    expect(state).toBe('finished');
  }, 30_000);
});
