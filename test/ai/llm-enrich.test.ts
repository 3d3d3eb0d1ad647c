/**
 * llm_enrich against the local OpenAI-compatible test server: faults at the acceptance rates (20 % 429, 5 % 500,
 * 2 % hung requests, 1 % malformed JSON) lose no record, the circuit breaker opens during an outage and closes after
 * it, the cache answers repeated prompts, and shadow mode changes nothing.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runText } from '../kit/run.js';
import { type LlmServer, startLlmServer, triage, TRIAGE_OUTPUT } from '../../native-bench/llm-server.js';

function plan(url: string, dir: string, o: { count: number; extra?: string; rowsPerSecond?: number; batchSize?: number }): string {
  return `
name: llm_test
engine: { parallelism: 1, batchSize: ${o.batchSize ?? 250} }
sources:
  - id: tickets
    kind: generate
    config: { generator: tickets, count: ${o.count}, seed: 7${o.rowsPerSecond ? `, rowsPerSecond: ${o.rowsPerSecond}` : ''} }
operators:
  - id: triage
    kind: llm_enrich
    inputs: [tickets]
    config:
      model: test-model
      baseURL: ${url}
      system: You triage support tickets. Answer in JSON.
      prompt: "Ticket {{ticket_id}}\\nSubject: {{subject}}\\n{{body}}"
      output: ${TRIAGE_OUTPUT}
      cache: { path: ${join(dir, 'cache.duckdb')} }
      pricing: { inputPerMillion: 0.15, outputPerMillion: 0.6 }
${(o.extra ?? '').replace(/^/gm, '      ')}
sinks:
  - { id: enriched, kind: collect, inputs: [triage] }
  - { id: dead, kind: collect, inputs: [triage.dead_letter] }
`;
}

let server: LlmServer | undefined;
beforeAll(() => {
  process.env.OPENAI_API_KEY = 'test-key';
});
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('llm_enrich', () => {
  it('faults at 20 % 429 / 5 % 500 / 2 % timeout / 1 % malformed: every record enriched or dead-lettered with a reason, none lost', async () => {
    server = await startLlmServer({
      answer: triage,
      faults: { rate429: 0.2, rate500: 0.05, rateTimeout: 0.02, rateMalformed: 0.01 },
      retryAfterMs: 40,
      seed: 11,
    });
    const dir = mkdtempSync(join(tmpdir(), 'abflow-llm-'));
    const extra = `concurrency: 16\nattemptTimeout: 250ms\ntimeout: 20s\nretry: { maxAttempts: 4, initialDelay: 10ms, maxDelay: 200ms }\ncircuitBreaker: { failures: 1000, cooldown: 1s }`;
    const { rows, result } = await runText(plan(server.url, dir, { count: 2000, extra }));
    const out = rows.get('enriched')!;
    const dead = rows.get('dead')!;
    const ids = [...out.map((r) => Number(r.ticket_id)), ...dead.map((r) => Number(JSON.parse(String(r.raw))?.ticket_id))].sort((a, b) => a - b);
    expect(ids).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));
    for (const r of out) {
      const expected = triage(`Ticket ${r.ticket_id}\nSubject: ${r.subject}\n${r.body}`);
      expect({ priority: r.priority, root_cause: r.root_cause, draft_reply: r.draft_reply }).toEqual(expected);
      expect(r._ai_model).toBe('test-model');
      expect(String(r._ai_version)).toMatch(/^[0-9a-f]{12}$/);
    }
    // Four attempts each failing with p ≈ 0.28: about 0.6 % of records exhaust their retries.
    expect(dead.length).toBeLessThan(60);
    for (const d of dead) expect(d.reason).toMatch(/^llm_enrich (rate_limited|server_error|timeout|invalid_output): .*\(\d attempts?\)$/);
    const outcomes = new Map<string, number>();
    for (const r of server.received) outcomes.set(r.outcome, (outcomes.get(r.outcome) ?? 0) + 1);
    for (const o of ['429', '500', 'timeout', 'malformed', 'ok']) expect(outcomes.get(o) ?? 0).toBeGreaterThan(0);
    const m = result.nodes.find((n) => n.id === 'triage')!.extra!;
    expect(m.enriched! + m.failed!).toBe(2000);
    expect(m.attempts).toBe(server.received.length);
    expect(m.tokens_in).toBeGreaterThan(0);
    expect(m.cost_usd).toBeGreaterThan(0);
  }, 120_000);

  it('waits for Retry-After before retrying a 429', async () => {
    // Every prompt's first request is refused with retry-after-ms 300. The server stamps a request when it has read
    // it, and the client can only send the retry after it has received the 429, so load can lengthen the gap but
    // never shorten it below 300 ms.
    server = await startLlmServer({ answer: triage, limitFirstAttempt: true, retryAfterMs: 300 });
    const dir = mkdtempSync(join(tmpdir(), 'abflow-llm-'));
    const { rows } = await runText(
      plan(server.url, dir, { count: 20, extra: 'concurrency: 4\nattemptTimeout: 10s\nretry: { maxAttempts: 3, initialDelay: 1ms, maxDelay: 5s }' }),
    );
    expect(rows.get('enriched')!.length).toBe(20);
    const byPrompt = new Map<string, number[]>();
    for (const r of server.received) byPrompt.set(r.user, [...(byPrompt.get(r.user) ?? []), r.at]);
    expect(byPrompt.size).toBe(20);
    for (const [, at] of byPrompt) {
      expect(at.length).toBe(2);
      expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(300);
    }
  });

  it('the circuit opens during an outage (records take the failure policy without calls) and closes after it', async () => {
    server = await startLlmServer({ answer: triage, latencyMs: 5 });
    server.outageUntil = Date.now() + 1500;
    const dir = mkdtempSync(join(tmpdir(), 'abflow-llm-'));
    const extra = `concurrency: 2\nretry: { maxAttempts: 1 }\ncircuitBreaker: { failures: 3, cooldown: 400ms }\nonError: null_with_error`;
    const { rows, result } = await runText(plan(server.url, dir, { count: 600, rowsPerSecond: 200, batchSize: 20, extra }));
    const out = rows.get('enriched')!;
    expect(out.map((r) => Number(r.ticket_id))).toEqual(Array.from({ length: 600 }, (_, i) => i + 1));
    const errors = out.filter((r) => r._ai_error !== null).map((r) => JSON.parse(String(r._ai_error)) as { code: string });
    const open = errors.filter((e) => e.code === 'circuit_open').length;
    expect(open).toBeGreaterThan(50); // the outage lasts 1.5 s at 200 records/s
    // While open only the half-open trials reach the server: outage requests ≈ 3 to open + one per cool-down.
    const during = server.received.filter((r) => r.outcome === '500').length;
    expect(during).toBeLessThan(3 + 8);
    expect(errors.length).toBe(open + during);
    // After the outage the circuit closed again and the rest was enriched.
    expect(out.slice(-100).every((r) => r.priority !== null && r._ai_error === null)).toBe(true);
    const m = result.nodes.find((n) => n.id === 'triage')!.extra!;
    expect(m.circuit_opened).toBeGreaterThanOrEqual(1);
    expect(m.circuit_open).toBe(0);
  }, 60_000);

  it('answers are cached by (model, prompt version, prompt): a second run sends nothing; a new prompt version asks again', async () => {
    server = await startLlmServer({ answer: triage });
    const dir = mkdtempSync(join(tmpdir(), 'abflow-llm-'));
    await runText(plan(server.url, dir, { count: 300, extra: 'recordsPerRequest: 5' }));
    expect(server.received.length).toBe(60);
    expect(server.received.every((r) => r.records.length === 5)).toBe(true);
    const again = await runText(plan(server.url, dir, { count: 300, extra: 'recordsPerRequest: 5' }));
    expect(server.received.length).toBe(60);
    expect(again.rows.get('enriched')!.length).toBe(300);
    expect(again.result.nodes.find((n) => n.id === 'triage')!.extra!.cache_hits).toBe(300);
    await runText(plan(server.url, dir, { count: 300, extra: 'recordsPerRequest: 5\npromptVersion: v2' }));
    expect(server.received.length).toBe(120);
  }, 60_000);

  it('shadow mode passes records unchanged and writes every decision to audit', async () => {
    server = await startLlmServer({ answer: triage });
    const dir = mkdtempSync(join(tmpdir(), 'abflow-llm-'));
    const text = plan(server.url, dir, { count: 50, extra: 'shadow: true\nrecordKey: [ticket_id]' }).replace(
      '  - { id: dead',
      '  - { id: audit, kind: collect, inputs: [triage.audit] }\n  - { id: dead',
    );
    const { rows } = await runText(text);
    const out = rows.get('enriched')!;
    expect(Object.keys(out[0]!).sort()).toEqual(['body', 'channel', 'created_at', 'customer_email', 'customer_id', 'product', 'subject', 'ticket_id']);
    const audit = rows.get('audit')!;
    expect(audit.length).toBe(50);
    expect(audit[0]).toMatchObject({ operator: 'triage', record_key: '1', model: 'test-model' });
    expect(JSON.parse(String(audit[0]!.output))).toEqual(triage(String(server.received.find((r) => r.user.startsWith('Ticket 1\n'))!.user)));
  }, 60_000);

  it('an answer that does not match the schema is retried, then dead-lettered with the schema problem', async () => {
    server = await startLlmServer({ answer: () => ({ priority: 'urgent', root_cause: 'x', draft_reply: 'y' }) });
    const dir = mkdtempSync(join(tmpdir(), 'abflow-llm-'));
    const { rows } = await runText(plan(server.url, dir, { count: 3, extra: 'retry: { maxAttempts: 2, initialDelay: 1ms }' }));
    expect(rows.get('enriched')!.length).toBe(0);
    expect(rows.get('dead')!.map((d) => d.reason)).toEqual(
      Array(3).fill(expect.stringMatching(/^llm_enrich invalid_output: answer does not match the output schema: priority: .* \(2 attempts\)$/)),
    );
    expect(server.received.length).toBe(6);
  }, 60_000);
});
