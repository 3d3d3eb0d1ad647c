/**
 * webhook and http_writeback sinks against a local HTTP server that fails 30 % of requests — half of those after it
 * has already processed the request (a lost response): every alert is processed exactly once per idempotency key
 * (the server checks), none lost; suppression, the Slack preset and write-back URLs.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runText } from '../kit/run.js';

interface Hit {
  method: string;
  url: string;
  key: string | undefined;
  body: Record<string, unknown>;
}

async function flakyServer(failRate: number) {
  let s = 99;
  const random = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const processed = new Map<string, Hit>();
  const arrivals: Hit[] = [];
  let duplicates = 0;
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => {
      const hit: Hit = {
        method: req.method!,
        url: req.url!,
        key: req.headers['idempotency-key'] as string | undefined,
        body: JSON.parse(text || '{}') as Record<string, unknown>,
      };
      arrivals.push(hit);
      const x = random();
      if (x < failRate / 2) return void res.writeHead(503, { 'retry-after': '0' }).end(); // refused before processing
      if (hit.key !== undefined && processed.has(hit.key)) duplicates++;
      else processed.set(hit.key ?? String(arrivals.length), hit); // an idempotent receiver processes a key once
      if (x < failRate) return void res.writeHead(500).end(); // processed, but the answer is lost
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    processed,
    arrivals,
    duplicates: () => duplicates,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

function input(rows: Record<string, unknown>[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'abflow-http-'));
  writeFileSync(join(dir, 'in.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return join(dir, 'in.jsonl');
}

describe('webhook sink', () => {
  it('against a server failing 30 % of requests: every alert processed exactly once per idempotency key, none lost', async () => {
    const srv = await flakyServer(0.3);
    close = srv.close;
    const alerts = Array.from({ length: 1000 }, (_, i) => ({ alert_id: `a-${i}`, merchant: `m${i % 17}`, amount: i * 1.5 }));
    const r = await runText(`
name: hooks
sources:
  - { id: alerts, kind: jsonl, config: { path: ${input(alerts)} } }
sinks:
  - id: hook
    kind: webhook
    inputs: [alerts]
    config:
      url: ${srv.url}/hooks/alerts
      body: { id: "{{alert_id}}", text: "merchant {{merchant}} paid {{amount}}", amount: "{{amount}}" }
      idempotencyKey: "alert-{{alert_id}}"
      concurrency: 8
      retry: { maxAttempts: 20, initialDelay: 1ms, maxDelay: 20ms }
`);
    expect(r.result.rowsOut).toBe(1000);
    expect([...srv.processed.keys()].sort()).toEqual(alerts.map((a) => `alert-${a.alert_id}`).sort());
    const byKey = new Map<string, number>();
    for (const h of srv.arrivals) byKey.set(h.key!, (byKey.get(h.key!) ?? 0) + 1);
    expect(srv.arrivals.length).toBeGreaterThan(1300); // ~30 % retried
    expect(srv.duplicates()).toBeGreaterThan(50); // lost answers were re-sent and recognised by their key
    const sample = srv.processed.get('alert-a-7')!;
    expect(sample.body).toEqual({ id: 'a-7', text: 'merchant m7 paid 10.5', amount: 10.5 });
    expect(sample.method).toBe('POST');
  }, 60_000);

  it('Slack preset with a suppression window: one alert per incident key', async () => {
    const srv = await flakyServer(0);
    close = srv.close;
    process.env.TEST_SLACK_URL = `${srv.url}/services/T000/B000/XXXX`;
    const rows = Array.from({ length: 50 }, (_, i) => ({ merchant: `m${i % 3}`, n: i }));
    await runText(`
name: slack
sources:
  - { id: alerts, kind: jsonl, config: { path: ${input(rows)} } }
sinks:
  - { id: slack, kind: webhook, inputs: [alerts], config: { urlEnv: TEST_SLACK_URL, preset: slack, text: "failure burst at {{merchant}} ({{n}})", suppress: { key: "{{merchant}}", window: 1h } } }
`);
    expect(srv.arrivals.map((h) => h.body)).toEqual([
      { text: 'failure burst at m0 (0)' },
      { text: 'failure burst at m1 (1)' },
      { text: 'failure burst at m2 (2)' },
    ]);
  });

  it('a request refused with 4xx fails the job with the status, the secret URL path redacted', async () => {
    const server = createServer((_req, res) => res.writeHead(403).end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    close = () => new Promise<void>((r) => server.close(() => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/T000/SECRETSECRET`;
    await expect(
      runText(`
name: refused
sources:
  - { id: alerts, kind: jsonl, config: { path: ${input([{ a: 1 }])} } }
sinks:
  - { id: hook, kind: webhook, inputs: [alerts], config: { url: ${url} } }
`),
    ).rejects.toThrow(/refused: HTTP 403.*not retried/);
  });
});

describe('http_writeback sink', () => {
  it('PATCHes each row to its own URL with the templated body', async () => {
    const srv = await flakyServer(0.3);
    close = srv.close;
    const rows = Array.from({ length: 100 }, (_, i) => ({ ticket_id: i + 1, priority: i % 2 ? 'P1' : 'P3', root_cause: `cause ${i}` }));
    await runText(`
name: writeback
sources:
  - { id: triage, kind: jsonl, config: { path: ${input(rows)} } }
sinks:
  - id: wb
    kind: http_writeback
    inputs: [triage]
    config:
      url: ${srv.url}/api/tickets/{{ticket_id}}
      body: { priority: "{{priority}}", custom_fields: { root_cause: "{{root_cause}}" } }
      retry: { maxAttempts: 20, initialDelay: 1ms, maxDelay: 10ms }
`);
    expect(srv.processed.size).toBe(100);
    const hit = [...srv.processed.values()].find((h) => h.url === '/api/tickets/8')!;
    expect(hit).toMatchObject({ method: 'PATCH', body: { priority: 'P1', custom_fields: { root_cause: 'cause 7' } } });
  });
});
