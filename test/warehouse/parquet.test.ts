/**
 * The parquet sink: files roll by size, become visible only when their checkpoint commits (staged under .staging/
 * until then), and a run killed with SIGKILL and restarted leaves every row in exactly one visible file.
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { abflow, runCli, tempDir } from '../kit/cli.js';
import { query } from '../kit/duckdb.js';

const COUNT = 120_000;

function plan(dir: string, checkpoint: boolean): void {
  writeFileSync(
    join(dir, 'plan.yaml'),
    `name: lake
engine:
  batchSize: 2048
${checkpoint ? '  checkpoint: { interval: 200ms }\n' : ''}sources:
  - id: payments
    kind: generate
    config: { generator: payments, count: ${COUNT}, seed: 3${checkpoint ? ', rowsPerSecond: 40000' : ''} }
sinks:
  - id: lake
    kind: parquet
    inputs: [payments]
    config: { path: out/lake, rollBytes: 262144 }
`,
  );
}

async function published(dir: string) {
  const files = readdirSync(join(dir, 'out/lake')).filter((f) => f.endsWith('.parquet'));
  const [r] = await query(
    ':memory:',
    `SELECT count(*)::INT AS n, count(DISTINCT payment_id)::INT AS ids, min(payment_id)::INT AS lo, max(payment_id)::INT AS hi FROM read_parquet('${join(dir, 'out/lake')}/*.parquet')`,
  );
  return { files, ...(r as { n: number; ids: number; lo: number; hi: number }) };
}

describe('parquet sink', () => {
  it('without checkpoints: rolled files appear at the end of the run, with every row and the input schema', async () => {
    const dir = tempDir();
    plan(dir, false);
    const r = abflow(['run', 'plan.yaml', '-q'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const p = await published(dir);
    expect(p.files.length).toBeGreaterThan(3);
    expect(p).toMatchObject({ n: COUNT, ids: COUNT, lo: 1, hi: COUNT });
    expect(readdirSync(join(dir, 'out/lake/.staging'))).toEqual([]);
    const cols = await query(':memory:', `DESCRIBE SELECT * FROM read_parquet('${join(dir, 'out/lake', p.files[0]!)}')`);
    expect(cols.map((c) => [c.column_name, c.column_type])).toEqual(
      expect.arrayContaining([
        ['payment_id', 'BIGINT'],
        ['event_time', expect.stringMatching(/^TIMESTAMP/)],
        ['amount', 'DOUBLE'],
        ['currency', 'VARCHAR'],
      ]),
    );
  });

  it('with checkpoints: a SIGKILL mid-run and a restart leave every row in exactly one visible file', { timeout: 120_000 }, async () => {
    const dir = tempDir();
    plan(dir, true);
    const first = await runCli(['run', 'plan.yaml'], { cwd: dir, killAfterOutput: /checkpoint 5 complete/, killAfter: 150 });
    expect(first.signal, first.stderr).toBe('SIGKILL');
    const partial = await published(dir);
    expect(partial.n).toBeGreaterThan(0);
    expect(partial.n).toBeLessThan(COUNT);
    expect(partial.ids).toBe(partial.n);
    const second = await runCli(['run', 'plan.yaml'], { cwd: dir });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/resumed from checkpoint/);
    expect(await published(dir)).toMatchObject({ n: COUNT, ids: COUNT, lo: 1, hi: COUNT });
    expect(existsSync(join(dir, 'out/lake/.staging')) && readdirSync(join(dir, 'out/lake/.staging'))).toEqual([]);
  });
});
