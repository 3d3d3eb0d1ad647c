/**
 * approval_queue: rows become pending actions (replays insert nothing twice); approved ones fire once with their
 * idempotency key, rejected ones never fire; outcomes are written back. In DuckDB and in PostgreSQL.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { abflow, CLI, tempDir } from '../kit/cli.js';
import { dropSchema, pgQuery, PG_URL, uniqueName } from '../kit/postgres.js';

/** The CLI without blocking this process, whose event loop serves the receiving HTTP server. */
const fire = async (cwd: string) => (await promisify(execFile)(process.execPath, [CLI, 'approvals', 'fire', 'plan.yaml'], { cwd })).stdout;

const hits: { key: string; body: unknown }[] = [];
const server = createServer((req, res) => {
  let text = '';
  req.on('data', (d: Buffer) => (text += d.toString()));
  req.on('end', () => {
    hits.push({ key: String(req.headers['idempotency-key']), body: JSON.parse(text) });
    res.writeHead(200).end('{}');
  });
});
const listening = new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const schema = uniqueName('abflow_approvals');
afterAll(async () => {
  server.close();
  await dropSchema(schema);
});

function plan(cwd: string, database: string, table: string): void {
  writeFileSync(
    join(cwd, 'refunds.jsonl'),
    Array.from({ length: 5 }, (_, i) => JSON.stringify({ payment_id: `p${i}`, amount: (i + 1) * 10 })).join('\n') + '\n',
  );
  writeFileSync(
    join(cwd, 'plan.yaml'),
    `
name: refunds
sources:
  - { id: proposed, kind: jsonl, config: { path: refunds.jsonl } }
sinks:
  - id: refunds
    kind: approval_queue
    inputs: [proposed]
    config:
      database: ${database}
      table: ${table}
      url: http://127.0.0.1:${(server.address() as AddressInfo).port}/refunds
      body: { payment: "{{payment_id}}", amount: "{{amount}}" }
      idempotencyKey: "refund-{{payment_id}}"
`,
  );
}

describe('approval_queue', () => {
  it('DuckDB: pending until approved; approved fire once, rejected never; replays add nothing', async () => {
    await listening;
    hits.length = 0;
    const cwd = tempDir('abflow-approvals-');
    plan(cwd, '{ duckdb: out/ops.duckdb }', 'approvals');
    for (let i = 0; i < 2; i++) expect(abflow(['run', 'plan.yaml', '-q'], { cwd }).code).toBe(0); // the second run replays
    const db = await DuckDBInstance.create(join(cwd, 'out/ops.duckdb'));
    const c = await db.connect();
    expect((await c.runAndReadAll("SELECT count(*)::INT, count(*) FILTER (WHERE status = 'pending')::INT FROM approvals")).getRows()).toEqual([[5, 5]]);
    await c.run("UPDATE approvals SET approved = true, decided_by = 'alice' WHERE id IN ('refund-p1', 'refund-p3')");
    await c.run("UPDATE approvals SET approved = false, decided_by = 'bob' WHERE id = 'refund-p4'");
    c.closeSync();
    db.closeSync();
    expect(await fire(cwd)).toBe('refunds: 2 fired, 0 failed, 1 rejected\n');
    expect(await fire(cwd)).toBe('refunds: 0 fired, 0 failed, 0 rejected\n');
    expect(hits).toEqual([
      { key: 'refund-p1', body: { payment: 'p1', amount: 20 } },
      { key: 'refund-p3', body: { payment: 'p3', amount: 40 } },
    ]);
    const db2 = await DuckDBInstance.create(join(cwd, 'out/ops.duckdb'));
    const c2 = await db2.connect();
    expect((await c2.runAndReadAll('SELECT id, status, fired_at IS NOT NULL FROM approvals ORDER BY id')).getRows()).toEqual([
      ['refund-p0', 'pending', false],
      ['refund-p1', 'fired', true],
      ['refund-p2', 'pending', false],
      ['refund-p3', 'fired', true],
      ['refund-p4', 'rejected', false],
    ]);
    c2.closeSync();
    db2.closeSync();
  });

  it('PostgreSQL: the same queue, decided in the database', async () => {
    await listening;
    hits.length = 0;
    await pgQuery(`CREATE SCHEMA ${schema}`);
    const cwd = tempDir('abflow-approvals-pg-');
    plan(cwd, `{ postgres: { url: "${PG_URL}" } }`, `${schema}.approvals`);
    expect(abflow(['run', 'plan.yaml', '-q'], { cwd }).code).toBe(0);
    await pgQuery(`UPDATE ${schema}.approvals SET approved = true WHERE id = 'refund-p0'`);
    expect(await fire(cwd)).toBe('refunds: 1 fired, 0 failed, 0 rejected\n');
    expect(hits.map((h) => h.key)).toEqual(['refund-p0']);
    const rows = await pgQuery(`SELECT status, count(*)::int AS n FROM ${schema}.approvals GROUP BY 1 ORDER BY 1`);
    expect(rows).toEqual([
      { status: 'fired', n: 1 },
      { status: 'pending', n: 4 },
    ]);
  });
});
