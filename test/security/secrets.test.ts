/**
 * No credential given in a plan comes out anywhere (issue "hardening", item 5): a PostgreSQL URL with a password in
 * its user info, `?password=` and `sslpassword=`, to a port where nothing listens, through `explain`, `validate`, a
 * failing `run` (stdout, stderr, dead letters and output files) and a job submitted to `serve` (its API answers and
 * the server's log).
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { abflow, tempDir } from '../kit/cli.js';
import { type Served, startServe } from '../kit/serve.js';

const SECRETS = ['UserInfoPw-7f3a', 'QueryPw-91bc', 'SslPw-5d2e', 'HookTok-4c1d', 'RedisPw-8e0f', 'ConnectorPw-2a9b'];
const URL = `postgres://app:${SECRETS[0]}@127.0.0.1:1/db?password=${SECRETS[1]}&sslpassword=${SECRETS[2]}&connect_timeout=2`;
const PLAN = `name: leaky\nsources:\n  - { id: src, kind: generate, config: { generator: payments, count: 10 } }\nsinks:\n  - { id: pg, kind: postgres, inputs: [src], config: { url: "${URL}", table: t } }\n`;

/** Every file under `dir`, as text. */
function filesText(dir: string): string {
  return readdirSync(dir, { recursive: true, withFileTypes: false })
    .map((f) => join(dir, String(f)))
    .filter((f) => statSync(f).isFile() && !f.endsWith('.yaml') && !f.includes('/models/')) // the plans themselves hold them
    .map((f) => readFileSync(f, 'latin1'))
    .join('\n');
}

const leaks = (text: string) => SECRETS.filter((s) => text.includes(s));

let served: Served;
beforeAll(async () => {
  served = await startServe('secret-scan-token');
}, 30_000);
afterAll(() => served.child.kill('SIGKILL'));

// Credentials in the other places plans carry them: a webhook URL's token, a Redis URL's password, a connector's
// inline config — with checkpoints and dead letters written, and failures on unreachable ports.
const EVERYWHERE = `name: leaky2
engine: { checkpoint: { interval: 200ms }, deadLetters: out/dead.jsonl }
sources:
  - { id: src, kind: generate, config: { generator: payments, count: 20 } }
operators:
  - { id: bad, kind: derive, inputs: [src], config: { columns: { x: "int(status)" } } }
sinks:
  - { id: hook, kind: webhook, inputs: [bad], config: { url: "http://127.0.0.1:1/hook?token=${SECRETS[3]}", body: { a: "{{payment_id}}" }, retries: 0 } }
  - { id: cache, kind: redis, inputs: [bad], config: { url: "redis://:${SECRETS[4]}@127.0.0.1:1/0", key: "p:{{payment_id}}" } }
`;

describe('credentials in plans', () => {
  it('appear nowhere else either: webhook and Redis URLs, checkpoints, dead letters', () => {
    const dir = tempDir();
    const plan = join(dir, 'plan.yaml');
    writeFileSync(plan, EVERYWHERE);
    const outputs = [abflow(['explain', plan], { cwd: dir }), abflow(['run', plan], { cwd: dir })];
    expect(leaks(outputs.map((o) => o.stdout + o.stderr).join('\n') + filesText(dir))).toEqual([]);
    // A connector's inline config goes to the connector only (in a private temp file), never to abflow's output.
    const src = join(dir, 'connector.yaml');
    writeFileSync(
      src,
      `name: conn\nsources:\n  - { id: a, kind: airbyte_source, config: { command: [/nonexistent/connector], config: { password: "${SECRETS[5]}" } } }\nsinks:\n  - { id: out, kind: blackhole, inputs: [a.x] }\n`,
    );
    const c = [abflow(['explain', src], { cwd: dir }), abflow(['run', src], { cwd: dir })];
    expect(c[1]!.code).not.toBe(0);
    expect(leaks(c.map((o) => o.stdout + o.stderr).join('\n') + filesText(dir))).toEqual([]);
  });

  it('appear in no CLI output or file', () => {
    const dir = tempDir();
    const plan = join(dir, 'plan.yaml');
    writeFileSync(plan, PLAN);
    const outputs = [abflow(['explain', plan], { cwd: dir }), abflow(['validate', plan], { cwd: dir }), abflow(['run', plan], { cwd: dir })];
    expect(outputs[2]!.code).toBe(1); // nothing listens on port 1
    expect(outputs[2]!.stderr).toMatch(/postgres:\/\/app:\*\*\*@127\.0\.0\.1:1\/db\?password=\*\*\*&sslpassword=\*\*\*/);
    expect(leaks(outputs.map((o) => o.stdout + o.stderr).join('\n') + filesText(dir))).toEqual([]);
  });

  it('appear in no API answer or server log', async () => {
    const api = (path: string, init: RequestInit = {}) => fetch(served.base + path, { ...init, headers: { authorization: 'Bearer secret-scan-token' } });
    const submitted = await api('/jobs', { method: 'POST', body: PLAN });
    const job = (await submitted.json()) as { id: string };
    let answer = '';
    for (let i = 0; i < 100; i++) {
      answer = await (await api(`/jobs/${job.id}`)).text();
      if (!answer.includes('"running"')) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(answer).toMatch(/"state": "failed"/);
    const all = [
      answer,
      await (await api('/jobs')).text(),
      await (await api('/metrics')).text(),
      await (await api(`/jobs/${job.id}/checkpoints`)).text(),
      served.stderr(),
    ].join('\n');
    expect(leaks(all)).toEqual([]);
  });
});
