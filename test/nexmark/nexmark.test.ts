/**
 * Nexmark q0, q1, q2, q5, q7, q8 and q11 over the same 1 M generated events give exactly the rows DuckDB SQL
 * computes over those events (native-bench/baselines/nexmark-sql.ts), at parallelism 1 and 2; and the same events shuffled within
 * the out-of-orderness bound give the same window results as in order.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCli, tempDir } from '../kit/cli.js';
import { ORACLE } from '../../native-bench/baselines/nexmark-sql.js';

const QUERIES = ['q0', 'q1', 'q2', 'q5', 'q7', 'q8', 'q11'];
const WINDOWED = ['q5', 'q7', 'q8', 'q11'];

async function run(plan: string, cwd: string, parallelism: number): Promise<void> {
  const r = await runCli(['run', plan, '-q', '-p', String(parallelism)], { cwd });
  if (r.code !== 0) throw new Error(`${plan}: exit ${r.code}\n${r.stderr}`);
}

/** Runs jobs two at a time (the machine has two cores). */
async function all(jobs: (() => Promise<void>)[]): Promise<void> {
  const queue = [...jobs];
  await Promise.all(
    [0, 1].map(async () => {
      for (let job = queue.shift(); job; job = queue.shift()) await job();
    }),
  );
}

/** Rows in one table and not the other, both ways (multiset difference), plus both counts. */
async function compare(sqlA: string, sqlB: string, attach: Record<string, string>) {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  try {
    for (const [alias, file] of Object.entries(attach)) await c.run(`ATTACH '${file}' AS ${alias} (READ_ONLY)`);
    const r = await c.runAndReadAll(`WITH a AS (${sqlA}), b AS (${sqlB})
      SELECT (SELECT count(*) FROM a) AS na, (SELECT count(*) FROM b) AS nb,
             (SELECT count(*) FROM (SELECT * FROM a EXCEPT ALL SELECT * FROM b)) AS only_a,
             (SELECT count(*) FROM (SELECT * FROM b EXCEPT ALL SELECT * FROM a)) AS only_b`);
    return Object.fromEntries(Object.entries(r.getRowObjectsJson()[0]!).map(([k, v]) => [k, Number(v)]));
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

describe('Nexmark against the DuckDB oracle', () => {
  const events = tempDir('abflow-nexmark-');
  const out: Record<string, string> = {};
  beforeAll(async () => {
    const jobs = [() => run(join(ROOT, 'plans/nexmark/events.yaml'), events, 2)];
    for (const p of [1, 2])
      for (const q of QUERIES) {
        const cwd = tempDir(`abflow-${q}-p${p}-`);
        out[`${q}@${p}`] = cwd;
        jobs.push(() => run(join(ROOT, `plans/nexmark/${q}.yaml`), cwd, p));
      }
    // The same events, shuffled within groups of 1000 (100 ms of event time, well inside the 4 s bound).
    for (const q of WINDOWED) {
      const cwd = tempDir(`abflow-${q}-shuffled-`);
      out[`${q}@shuffled`] = cwd;
      const text = readFileSync(join(ROOT, `plans/nexmark/${q}.yaml`), 'utf8').replace('seed: 42 }', 'seed: 42, options: { outOfOrderGroupSize: 1000 } }');
      expect(text).toContain('outOfOrderGroupSize');
      writeFileSync(join(cwd, 'plan.yaml'), text);
      jobs.push(() => run('plan.yaml', cwd, 2));
    }
    await all(jobs);
  }, 600_000);

  for (const p of [1, 2])
    it.each(QUERIES)(`%s at parallelism ${p} equals DuckDB SQL`, async (q) => {
      const o = ORACLE[q]!;
      const r = await compare(`SELECT ${o.columns} FROM res.${q}`, o.sql, {
        ev: join(events, 'out/nexmark-events.duckdb'),
        res: join(out[`${q}@${p}`]!, 'out/nexmark.duckdb'),
      });
      expect(r.na).toBeGreaterThan(0);
      expect(r).toEqual({ na: r.nb, nb: r.nb, only_a: 0, only_b: 0 });
    });

  it.each(WINDOWED)('%s gives the same results on input shuffled within the out-of-orderness bound', async (q) => {
    const o = ORACLE[q]!;
    const r = await compare(`SELECT ${o.columns} FROM sorted.${q}`, `SELECT ${o.columns} FROM shuffled.${q}`, {
      sorted: join(out[`${q}@2`]!, 'out/nexmark.duckdb'),
      shuffled: join(out[`${q}@shuffled`]!, 'out/nexmark.duckdb'),
    });
    expect(r.na).toBeGreaterThan(0);
    expect(r).toEqual({ na: r.nb, nb: r.nb, only_a: 0, only_b: 0 });
  });
});
