/**
 * PostgreSQL CDC end to end, against the machine's PostgreSQL: while 100 000 inserts, updates and deletes (and one
 * TRUNCATE) are applied to a source table in transactions, `postgres_cdc → append_dedup` runs into PostgreSQL and
 * DuckDB at once. The first run is killed with SIGKILL after a few checkpoints; the restarted run resumes from its
 * checkpoint and the slot. At the end both mirrors equal the source table: nothing lost, nothing duplicated.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, runCli, tempDir } from '../kit/cli.js';
import { query } from '../kit/duckdb.js';
import { dropSchema, PG_URL, pgQuery, uniqueName } from '../kit/postgres.js';

const OPS = 100_000;
const PER_TX = 200;
const INITIAL = 5_000;

/** A deterministic mix of changes applied in transactions; returns once all are committed. */
async function applyChanges(table: string, seed: number): Promise<void> {
  let s = seed;
  const rand = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const live: number[] = Array.from({ length: INITIAL }, (_, i) => i + 1);
  let nextId = INITIAL + 1;
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    for (let done = 0; done < OPS;) {
      const stmts: string[] = [];
      for (let k = 0; k < PER_TX && done < OPS; k++, done++) {
        if (done === OPS / 2) {
          stmts.push(`TRUNCATE ${table}`);
          live.length = 0;
          continue;
        }
        const r = rand();
        if (r < 0.4 || live.length < 100) {
          const id = nextId++;
          live.push(id);
          stmts.push(`INSERT INTO ${table} (id, name, amount, qty, meta) VALUES (${id}, 'n${id}', ${(id % 1000) + 0.25}, ${id % 7}, '{"v": ${id}}')`);
        } else if (r < 0.8) {
          const id = live[Math.floor(rand() * live.length)]!;
          stmts.push(`UPDATE ${table} SET qty = qty + 1, name = name || 'u', amount = amount + 1, updated_at = clock_timestamp() WHERE id = ${id}`);
        } else {
          const i = Math.floor(rand() * live.length);
          const id = live[i]!;
          live[i] = live[live.length - 1]!;
          live.pop();
          stmts.push(`DELETE FROM ${table} WHERE id = ${id}`);
        }
      }
      await c.query(`BEGIN; ${stmts.join('; ')}; COMMIT`);
      await new Promise((r) => setTimeout(r, 15));
    }
  } finally {
    await c.end();
  }
}

const COLS = 'id, name, amount, qty, meta::text AS meta, updated_at';
const rowKey = (r: Record<string, unknown>) =>
  [
    r.id,
    r.name,
    Number(r.amount).toFixed(2),
    r.qty,
    JSON.stringify(typeof r.meta === 'string' ? JSON.parse(r.meta) : r.meta),
    new Date(String(r.updated_at instanceof Date ? r.updated_at.toISOString() : r.updated_at)).getTime(),
  ].join('|');

describe('postgres_cdc → append_dedup into PostgreSQL and DuckDB', () => {
  const source = uniqueName('abflow_cdc_src');
  const slot = uniqueName('abflow_slot');
  const dest = uniqueName('abflow_cdc_dst');
  afterAll(async () => {
    await pgQuery('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active', [slot]).catch(() => undefined);
    await pgQuery(`DROP PUBLICATION IF EXISTS ${slot}`);
    await pgQuery(`DROP TABLE IF EXISTS public.${source}`);
    await dropSchema(dest);
  });

  it('mirrors 100 k changes exactly, across a SIGKILL and restart', { timeout: 300_000 }, async () => {
    await pgQuery(
      `CREATE TABLE public.${source} (id bigint PRIMARY KEY, name text, amount numeric(12,2), qty int, meta jsonb, updated_at timestamptz DEFAULT clock_timestamp())`,
    );
    await pgQuery(
      `INSERT INTO public.${source} (id, name, amount, qty, meta) SELECT g, 'n' || g, g % 1000 + 0.25, g % 7, jsonb_build_object('v', g) FROM generate_series(1, ${INITIAL}) g`,
    );
    const dir = tempDir();
    const sinkCfg = `mode: append_dedup, primaryKey: [id], cursor: _ab_cdc_lsn`;
    writeFileSync(
      join(dir, 'plan.yaml'),
      `name: cdc_test
engine:
  checkpoint: { interval: 300ms }
sources:
  - id: cdc
    kind: postgres_cdc
    config: { url: "${PG_URL}", tables: [public.${source}], slot: ${slot} }
sinks:
  - id: pg_mirror
    kind: postgres
    inputs: [cdc.${source}]
    config: { url: "${PG_URL}", schema: ${dest}, table: mirror, ${sinkCfg} }
  - id: duck_mirror
    kind: duckdb
    inputs: [cdc.${source}]
    config: { path: mirror.duckdb, table: mirror, ${sinkCfg} }
`,
    );

    let applied = false;
    const changes = applyChanges(`public.${source}`, 7).then(() => (applied = true));
    const first = await runCli(['run', 'plan.yaml'], { cwd: dir, killAfterOutput: /checkpoint 4 complete/, killAfter: 300 });
    expect(first.signal, first.stderr).toBe('SIGKILL');
    expect(applied, 'the kill must land while changes are still being applied').toBe(false);

    const second = spawn(process.execPath, [CLI, 'run', 'plan.yaml'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    second.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => second.on('exit', (code) => resolve(code)));
    await changes;

    // Caught up when the PostgreSQL mirror (readable while the job runs) equals the source.
    const diff = async () =>
      Number(
        (
          await pgQuery<{ n: string }>(
            `SELECT count(*) AS n FROM ((SELECT id, name, amount, qty, meta FROM public.${source} EXCEPT SELECT id, name, amount::numeric(12,2), qty, meta FROM "${dest}".mirror)
             UNION ALL (SELECT id, name, amount::numeric(12,2), qty, meta FROM "${dest}".mirror EXCEPT SELECT id, name, amount, qty, meta FROM public.${source})) d`,
          )
        )[0]!.n,
      );
    const deadline = Date.now() + 120_000;
    while ((await diff().catch(() => -1)) !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
    second.kill('SIGTERM');
    expect(await exited, stderr).toBe(0);
    expect(stderr).toMatch(/resumed from checkpoint \d+/);

    const expected = (await pgQuery(`SELECT ${COLS} FROM public.${source} ORDER BY id`)).map(rowKey);
    const pgRows = (await pgQuery(`SELECT ${COLS} FROM "${dest}".mirror ORDER BY id`)).map(rowKey);
    const duckRows = (await query(join(dir, 'mirror.duckdb'), `SELECT ${COLS} FROM mirror ORDER BY id`)).map(rowKey);
    expect(expected.length).toBeGreaterThan(1000);
    expect(pgRows).toEqual(expected);
    expect(duckRows).toEqual(expected);
  });
});

describe('postgres_cdc set-up errors', () => {
  it('names the missing server setting or privilege, and a missing table with its place in the plan', async () => {
    const role = uniqueName('abflow_norepl');
    const table = uniqueName('abflow_cdc_t');
    await pgQuery(`CREATE ROLE ${role} LOGIN`);
    await pgQuery(`CREATE TABLE public.${table} (id int PRIMARY KEY)`);
    await pgQuery(`GRANT SELECT ON public.${table} TO ${role}`);
    try {
      const dir = tempDir();
      const url = PG_URL.replace('postgres@', `${role}@`);
      const plan = (t: string) =>
        `name: cdc_err\nsources:\n  - id: cdc\n    kind: postgres_cdc\n    config: { url: "${url}", tables: [${t}] }\nsinks:\n  - { id: out, kind: blackhole, inputs: [cdc.${t.split('.').pop()}] }\n`;
      writeFileSync(join(dir, 'plan.yaml'), plan(`public.${table}`));
      const r = await runCli(['run', 'plan.yaml'], { cwd: dir });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/not set up for logical replication: the user lacks the REPLICATION attribute/);
      writeFileSync(join(dir, 'plan.yaml'), plan('public.no_such_table'));
      const missing = await runCli(['run', 'plan.yaml'], { cwd: dir });
      expect(missing.code).not.toBe(0);
      expect(missing.stderr).toMatch(/plan\.yaml:\d+:\d+.*table public\.no_such_table does not exist/s);
    } finally {
      await pgQuery(`DROP TABLE public.${table}`);
      await pgQuery(`DROP ROLE ${role}`);
    }
  });
});

describe('postgres_cdc incremental runs', () => {
  const source = uniqueName('abflow_inc_src');
  const slot = uniqueName('abflow_inc_slot');
  afterAll(async () => {
    await pgQuery('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active', [slot]).catch(() => undefined);
    await pgQuery(`DROP PUBLICATION IF EXISTS ${slot}`);
    await pgQuery(`DROP TABLE IF EXISTS public.${source}`);
  });

  it('a finished `until: start` run is continued from its slot by the next one, without a new snapshot, whatever options change; timestamps to the µs', async () => {
    await pgQuery(`CREATE TABLE public.${source} (id bigint PRIMARY KEY, name text, at timestamptz)`);
    await pgQuery(`INSERT INTO public.${source} VALUES (1, 'a', '2024-01-01 10:00:00.123456+00'), (2, 'b', '0001-01-01 00:00:00+00'), (3, 'c', NULL)`);
    const dir = tempDir();
    const plan = (extra: string) =>
      writeFileSync(
        join(dir, 'plan.yaml'),
        `name: cdc_inc\nsources:\n  - { id: cdc, kind: postgres_cdc, config: { url: "${PG_URL}", tables: [public.${source}], slot: ${slot}, until: start${extra} } }\nsinks:\n  - { id: out, kind: duckdb, inputs: [cdc.${source}], config: { path: out.duckdb, table: changes, mode: append } }\n`,
      );
    plan('');
    const first = await runCli(['run', 'plan.yaml'], { cwd: dir });
    expect(first.code, first.stderr).toBe(0);
    await pgQuery(`INSERT INTO public.${source} VALUES (4, 'd', now()); UPDATE public.${source} SET name = 'a2' WHERE id = 1`);
    plan(', snapshot: true, publication: ' + slot); // options the position does not depend on
    const second = await runCli(['run', 'plan.yaml'], { cwd: dir });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/cdc continues from its last committed position/);
    const rows = await query(join(dir, 'out.duckdb'), `SELECT id::INT AS id, name, epoch_us("at")::VARCHAR AS at_us FROM changes ORDER BY rowid`);
    // The snapshot once, then only the two changes (a new snapshot would bring rows 2 and 3 again).
    expect(rows.map((r) => [r.id, r.name])).toEqual([
      [1, 'a'],
      [2, 'b'],
      [3, 'c'],
      [4, 'd'],
      [1, 'a2'],
    ]);
    expect(rows.slice(0, 2).map((r) => r.at_us)).toEqual([String(Date.UTC(2024, 0, 1, 10, 0, 0, 123) * 1000 + 456), '-62135596800000000']);
  });
});
