/** plans/tickets.yaml as users run it (the CLI, endpoint from OPENAI_BASE_URL), against the local test server. */
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { CLI, ROOT, tempDir } from '../kit/cli.js';
import { rows } from '../kit/duckdb.js';
import { type LlmServer, startLlmServer, triage } from '../../native-bench/llm-server.js';

let server: LlmServer;
afterAll(() => server?.close());

it('plans/tickets.yaml: every ticket triaged and routed by priority, with PII masked in every table and prompt', async () => {
  server = await startLlmServer({ answer: triage, faults: { rate429: 0.05 }, retryAfterMs: 20 });
  const cwd = tempDir('abflow-tickets-');
  // The warehouse table the plan looks payment histories up in (plans/payments.yaml fills it for users).
  writeFileSync(
    join(cwd, 'history.yaml'),
    `name: history
sources: [{ id: payments, kind: generate, config: { generator: payments, count: 20000, seed: 7 } }]
sinks: [{ id: out, kind: duckdb, inputs: [payments], config: { path: out/payments.duckdb, table: payments } }]`,
  );
  const history = spawnSync(process.execPath, [CLI, 'run', 'history.yaml', '-q'], { cwd, encoding: 'utf8' });
  expect(history.status, history.stderr).toBe(0);
  const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [CLI, 'run', join(ROOT, 'plans/tickets.yaml')], {
      cwd,
      env: { ...process.env, OPENAI_BASE_URL: server.url, OPENAI_API_KEY: 'local' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stderr }));
  });
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).toMatch(/triage: requests=2000 .*enriched=2000 failed=0/);
  const q = (sql: string) => rows(join(cwd, 'out/tickets.duckdb'), sql);
  const [[urgent, wrongUrgent]] = (await q("SELECT count(*)::INT, count(*) FILTER (WHERE priority NOT IN ('P0','P1'))::INT FROM urgent_tickets")) as [
    [number, number],
  ];
  const [[backlog, wrongBacklog]] = (await q("SELECT count(*)::INT, count(*) FILTER (WHERE priority IN ('P0','P1'))::INT FROM ticket_backlog")) as [
    [number, number],
  ];
  expect(urgent + backlog).toBe(2000);
  expect(wrongUrgent + wrongBacklog).toBe(0);
  expect(urgent).toBeGreaterThan(0);
  const leaks = await q(
    `SELECT count(*)::INT FROM (SELECT body FROM urgent_tickets UNION ALL SELECT body FROM ticket_backlog) WHERE regexp_matches(body, '\\d{4}[ -]?\\d{4}[ -]?\\d{4}|@|DE89|GB82|\\(\\d{3}\\) 555')`,
  );
  expect(leaks[0]![0]).toBe(0);
  for (const p of server.received) expect(p.user).not.toMatch(/4111 1111|@[a-z]+\.(com|test|org)|DE89 3704|555-\d{4}/);
  // Every prompt carries the customer's payment history from the warehouse (lookup_join).
  const histories = server.received.map((p) => JSON.parse(/The customer's last payments: (\[.*\])$/s.exec(p.user)![1]!) as { amount: number }[]);
  expect(histories.every((h) => h.length <= 10)).toBe(true);
  expect(histories.filter((h) => h.length > 0).length).toBeGreaterThan(histories.length / 2);
}, 120_000);
