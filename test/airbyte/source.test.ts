/**
 * `airbyte_source` driving a connector process: a fake connector (fixtures/fake-source.mjs) that speaks the
 * protocol and dies mid-stream. STATEs are checkpoints, so the rerun hands the last committed state back to the
 * connector and the table ends up with every record exactly once.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { abflow, abflowAsync, ROOT, tempDir } from '../kit/cli.js';
import { query } from '../kit/duckdb.js';

const FAKE = join(ROOT, 'test/airbyte/fixtures/fake-source.mjs');

function plan(dir: string, connector = `total: 1000, every: 100, crashAfter: 550, crashMarker: ${dir}/crashed`): string {
  const file = join(dir, 'plan.yaml');
  writeFileSync(
    file,
    `name: fake_source
engine:
  checkpoint: { interval: 1h, path: ${dir}/checkpoints.duckdb }
sources:
  - id: src
    kind: airbyte_source
    config:
      command: [${process.execPath}, ${FAKE}]
      config: { ${connector} }
sinks:
  - id: out
    kind: duckdb
    inputs: [src.items]
    config: { path: ${dir}/out.duckdb, table: items, mode: append }
`,
  );
  return file;
}

describe('airbyte_source', () => {
  it('after a connector crash, the rerun resumes from the last committed STATE with no duplicate rows', async () => {
    const dir = tempDir();
    const file = plan(dir);
    const first = abflow(['run', file]);
    expect(first.code).toBe(1);
    expect(first.stderr).toContain('simulated outage after record 550 (transient_error)');
    const committed = Number((await query(`${dir}/out.duckdb`, 'SELECT count(*)::INT AS n FROM items'))[0]!.n);
    // Only whole STATE intervals are committed: nothing after the last committed state, which is at most 500.
    expect(committed % 100).toBe(0);
    expect(committed).toBeLessThanOrEqual(500);
    const second = abflow(['run', file]);
    expect(second.code, second.stderr).toBe(0);
    // The connector gets the state of the last durable checkpoint; if the failure interrupted its commit, the sink
    // completes that commit on restart, so the resume point may be one interval past what the table showed.
    const resumedAt = Number(/starting after cursor (\d+)/.exec(second.stderr)![1]);
    expect(resumedAt % 100).toBe(0);
    expect([committed, committed + 100]).toContain(resumedAt);
    const [r] = await query(`${dir}/out.duckdb`, 'SELECT count(*)::INT AS n, count(DISTINCT id)::INT AS d, min(id)::INT AS lo, max(id)::INT AS hi FROM items');
    expect(r).toEqual({ n: 1000, d: 1000, lo: 1, hi: 1000 });
  });

  it('a stop (SIGTERM) ends the read at the next STATE, exits 0, and the rerun continues from there', async () => {
    const dir = tempDir();
    const file = plan(dir, 'total: 1000, every: 100, delayMs: 4');
    const stopped = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = abflowAsync(['run', file], { cwd: dir });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (!child.killed && /checkpoint 2 complete/.test(stderr)) child.kill('SIGTERM'); // once: a second signal forces exit
      });
      child.on('exit', (code) => resolve({ code, stderr }));
    });
    expect(stopped.code, stopped.stderr).toBe(0);
    const [first] = await query(`${dir}/out.duckdb`, 'SELECT count(*)::INT AS n FROM items');
    expect(Number(first!.n) % 100).toBe(0); // whole STATE intervals only
    expect(Number(first!.n)).toBeLessThan(1000);
    const second = abflow(['run', file]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toContain(`starting after cursor ${first!.n}`);
    const [r] = await query(`${dir}/out.duckdb`, 'SELECT count(*)::INT AS n, count(DISTINCT id)::INT AS d FROM items');
    expect(r).toEqual({ n: 1000, d: 1000 });
  });

  it("runs a connector's spec, check and discover from the CLI", () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'config.json'), '{"total": 3}');
    const command = `${process.execPath} ${FAKE}`;
    expect(JSON.parse(abflow(['airbyte', 'source', 'spec', '--command', command]).stdout).type).toBe('SPEC');
    expect(JSON.parse(abflow(['airbyte', 'source', 'check', '--command', command, '--config', join(dir, 'config.json')]).stdout).connectionStatus.status).toBe(
      'SUCCEEDED',
    );
    const catalog = JSON.parse(abflow(['airbyte', 'source', 'discover', '--command', command, '--config', join(dir, 'config.json')]).stdout);
    expect(catalog.catalog.streams[0].name).toBe('items');
    const bad = abflow(['airbyte', 'source', 'discover', '--command', command]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('`discover` needs --config');
  });

  it('discovers the catalog when the plan gives none, and reports a missing connector clearly', () => {
    const dir = tempDir();
    const file = plan(dir);
    const explained = abflow(['explain', file]);
    expect(explained.code, explained.stderr).toBe(0);
    expect(explained.stdout).toContain('id: int64');
    const missing = join(dir, 'missing.yaml');
    writeFileSync(
      missing,
      `name: m\nsources:\n  - id: src\n    kind: airbyte_source\n    config: { command: [/nonexistent/connector], config: {} }\nsinks:\n  - { id: out, kind: blackhole, inputs: [src.items] }\n`,
    );
    const r = abflow(['validate', missing]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot run connector `\/nonexistent\/connector`.*ENOENT/);
  });
});
