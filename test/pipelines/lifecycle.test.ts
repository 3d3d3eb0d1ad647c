/**
 * Run lifecycle through the CLI: SIGINT/SIGTERM stop the sources, drain what is in flight, flush the sinks and exit
 * 0 with everything read also written; a failure exits non-zero naming the node and the cause.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { abflow, abflowAsync, tempDir } from '../kit/cli.js';
import { query } from '../kit/duckdb.js';

const ENDLESS = `
name: endless
engine: { parallelism: 2, batchSize: 2000 }
sources:
  - { id: payments, kind: generate, config: { generator: payments, seed: 3, rowsPerSecond: 40000 } }
operators:
  - { id: usd, kind: derive, inputs: [payments], config: { columns: { doubled: "amount * 2" } } }
sinks:
  - { id: out, kind: duckdb, inputs: [usd], config: { path: out/endless.duckdb, table: payments } }
`;

describe('run lifecycle', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} drains in-flight batches, flushes sinks and exits 0`, async () => {
      const cwd = tempDir();
      writeFileSync(join(cwd, 'plan.yaml'), ENDLESS);
      const child = abflowAsync(['run', 'plan.yaml', '--summary-json', 'summary.json'], { cwd });
      let stderr = '';
      const running = new Promise<void>((resolve) =>
        child.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
          if (stderr.includes('running endless')) resolve();
        }),
      );
      await running; // signal handlers are installed
      await new Promise((r) => setTimeout(r, 2000));
      child.kill(signal);
      const code = await new Promise<number | null>((r) => child.on('exit', r));
      expect(code, stderr).toBe(0);
      const summary = JSON.parse(readFileSync(join(cwd, 'summary.json'), 'utf8')) as { rowsIn: number; rowsOut: number; stopped: boolean };
      expect(summary.stopped).toBe(true);
      expect(summary.rowsIn).toBeGreaterThan(0);
      expect(summary.rowsOut).toBe(summary.rowsIn);
      const [row] = await query(join(cwd, 'out/endless.duckdb'), 'SELECT count(*) AS n, count(DISTINCT payment_id) AS d, max(payment_id) AS hi FROM payments');
      expect(Number(row!.n)).toBe(summary.rowsIn);
      expect(Number(row!.d)).toBe(summary.rowsIn);
      expect(Number(row!.hi)).toBe(summary.rowsIn); // a gap-free prefix of the stream
    });
  }

  it('exits non-zero naming the failing node and the cause', () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'blocker'), 'a file where a directory is needed');
    writeFileSync(
      join(cwd, 'plan.yaml'),
      `name: fails
sources: [{ id: payments, kind: generate, config: { generator: payments, count: 1000 } }]
sinks: [{ id: warehouse, kind: duckdb, inputs: [payments], config: { path: blocker/x.duckdb, table: t } }]
`,
    );
    const r = abflow(['run', 'plan.yaml'], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/sink 'warehouse' \(duckdb\) failed: .*blocker/);
  });
});
