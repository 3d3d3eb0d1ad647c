/**
 * llm_enrich after SIGKILL: the restarted job resumes from its checkpoint, and no prompt whose answer was in the
 * response cache when the process died is sent again; the sink holds every ticket exactly once.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { digest } from '../../operators/ai/llm/prompt.js';
import { CLI, tempDir } from '../kit/cli.js';
import { rows as query } from '../kit/duckdb.js';
import { type LlmServer, startLlmServer, triage, TRIAGE_OUTPUT } from '../../native-bench/llm-server.js';

let server: LlmServer;
afterAll(() => server?.close());

const SYSTEM = 'You triage support tickets. Answer in JSON.';

function planText(url: string): string {
  return `
name: triage_recovery
engine: { parallelism: 1, batchSize: 100, queueCapacity: 1, checkpoint: { interval: 300ms } }
sources:
  - id: tickets
    kind: generate
    config: { generator: tickets, count: 1500, seed: 3 }
operators:
  - id: triage
    kind: llm_enrich
    inputs: [tickets]
    config:
      model: test-model
      baseURL: ${url}
      system: ${SYSTEM}
      prompt: "Ticket {{ticket_id}}\\nSubject: {{subject}}\\n{{body}}"
      promptVersion: v1
      concurrency: 4
      output: ${TRIAGE_OUTPUT}
sinks:
  - { id: triaged, kind: duckdb, inputs: [triage], config: { path: out/triaged.duckdb, table: triaged } }
`;
}

function run(cwd: string, killWhen?: () => boolean): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'run', 'plan.yaml'], {
      cwd,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, OPENAI_API_KEY: 'test-key' },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const poll = killWhen && setInterval(() => killWhen() && child.kill('SIGKILL'), 5);
    child.on('exit', (code, signal) => {
      if (poll) clearInterval(poll);
      resolve({ code, signal, stderr });
    });
  });
}

it('after SIGKILL and restart, cached prompts are not sent again and every ticket lands once', async () => {
  server = await startLlmServer({ answer: triage, latencyMs: 15 });
  const cwd = tempDir('abflow-llm-kill-');
  writeFileSync(join(cwd, 'plan.yaml'), planText(server.url));
  const first = await run(cwd, () => server.received.length >= 800);
  expect(first.signal, first.stderr).toBe('SIGKILL');
  const sentBefore = server.received.length;
  const cached = new Set((await query(join(cwd, 'out/llm-cache.duckdb'), 'SELECT key FROM abflow_llm_cache')).map((r) => String(r[0])));
  expect(cached.size).toBeGreaterThan(300);
  const second = await run(cwd);
  expect(second.code, second.stderr).toBe(0);
  expect(second.stderr).toMatch(/resumed from checkpoint/);
  const resent = server.received.slice(sentBefore).filter((r) => cached.has(digest('test-model', 'v1', SYSTEM, r.user)));
  expect(resent.map((r) => r.user.split('\n')[0])).toEqual([]);
  expect(server.received.length - sentBefore).toBeLessThanOrEqual(1500 - cached.size);
  const [[rows, distinct, enriched]] = (await query(
    join(cwd, 'out/triaged.duckdb'),
    'SELECT count(*)::INT, count(DISTINCT ticket_id)::INT, count(priority)::INT FROM triaged',
  )) as [[number, number, number]];
  expect({ rows, distinct, enriched }).toEqual({ rows: 1500, distinct: 1500, enriched: 1500 });
}, 120_000);
