/**
 * Stop must stop (issue "hardening", item 3): an operator that never returns from a batch cannot hold a job or the
 * service hostage. A stop drains for at most `--stop-timeout`; then the job is terminated — its threads ended, its
 * sinks aborted, exit 1 naming what was still running. Over the API, DELETE answers at once and the job reaches
 * `failed` within the grace period; a single SIGTERM ends `serve`.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { abflowAsync, ROOT, tempDir } from '../kit/cli.js';
import { startServe } from '../kit/serve.js';
import { query } from '../kit/duckdb.js';

const SPIN = `import { defineOperator, z } from ${JSON.stringify(pathToFileURL(join(ROOT, 'dist/engine/api.js')).href)};
export const abflowComponents = [
  defineOperator({
    kind: 'spin',
    summary: 'Never returns from its first batch.',
    config: z.object({}).strict(),
    execution: 'parallel',
    examples: [],
    outputSchemas: (_cfg, [input]) => ({ out: input }),
    create: () => ({ processBatch() { for (;;); } }),
  }),
];
`;
const PLAN =
  'name: stuck\nplugins: [./spin.mjs]\nsources:\n  - { id: src, kind: generate, config: { generator: payments, rowsPerSecond: 1000 } }\noperators:\n  - { id: spinner, kind: spin, inputs: [src] }\nsinks:\n  - { id: out, kind: duckdb, inputs: [spinner], config: { path: out/stuck.duckdb, table: t } }\n';

describe('a stop that does not drain', () => {
  it('abflow run: terminated after --stop-timeout, exit 1 naming the stuck operator, nothing committed', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'spin.mjs'), SPIN);
    writeFileSync(join(dir, 'plan.yaml'), PLAN);
    const child = abflowAsync(['run', 'plan.yaml', '--stop-timeout', '2s'], { cwd: dir });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (/running stuck/.test(stderr) && !child.killed) setTimeout(() => child.kill('SIGTERM'), 500);
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code, stderr).toBe(1);
    expect(stderr).toMatch(/operator 'spinner': job stuck was terminated: it did not drain within 2 s of the stop; still running: .*chain spinner/);
    if (existsSync(join(dir, 'out/stuck.duckdb')))
      expect(await query(join(dir, 'out/stuck.duckdb'), "SELECT count(*)::INT AS n FROM information_schema.tables WHERE table_name = 't'")).toEqual([{ n: 0 }]);
  });

  it('serve: DELETE answers at once, the job fails within the grace period, and one SIGTERM ends the service', async () => {
    const served = await startServe('stop-token', ['--allow-plugins', '--stop-timeout', '2s']);
    writeFileSync(join(served.dataDir, 'spin.mjs'), SPIN);
    const api = (path: string, init: RequestInit = {}) => fetch(served.base + path, { ...init, headers: { authorization: 'Bearer stop-token' } });
    const job = (await (await api('/jobs?file=plan.yaml', { method: 'POST', body: PLAN })).json()) as { id: string; state: string };
    expect(job.state).toBe('running');
    await new Promise((r) => setTimeout(r, 1000));
    // Answered at once: the job is still draining.
    const stopped = (await (await api(`/jobs/${job.id}`, { method: 'DELETE' })).json()) as { state: string };
    expect(stopped.state).toBe('stopping');
    let state = 'stopping';
    let error = '';
    for (let i = 0; i < 50 && state === 'stopping'; i++) {
      await new Promise((r) => setTimeout(r, 200));
      ({ state, error = '' } = (await (await api(`/jobs/${job.id}`)).json()) as { state: string; error?: string });
    }
    expect(state).toBe('failed');
    expect(error).toMatch(/terminated: it did not drain within 2 s/);
    // Another stuck job, then a single SIGTERM: the service ends on its own within the grace period.
    await api('/jobs?file=plan.yaml', { method: 'POST', body: PLAN.replace('name: stuck', 'name: stuck2') });
    await new Promise((r) => setTimeout(r, 1000));
    const exited = new Promise<number | null>((resolve) => served.child.on('exit', resolve));
    served.child.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 20_000))]);
    if (code === 'hung') served.child.kill('SIGKILL');
    expect(code).toBe(0);
  });
});
