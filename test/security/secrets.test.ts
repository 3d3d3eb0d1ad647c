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

const SECRETS = ['UserInfoPw-7f3a', 'QueryPw-91bc', 'SslPw-5d2e'];
const URL = `postgres://app:${SECRETS[0]}@127.0.0.1:1/db?password=${SECRETS[1]}&sslpassword=${SECRETS[2]}&connect_timeout=2`;
const PLAN = `name: leaky\nsources:\n  - { id: src, kind: generate, config: { generator: payments, count: 10 } }\nsinks:\n  - { id: pg, kind: postgres, inputs: [src], config: { url: "${URL}", table: t } }\n`;

/** Every file under `dir`, as text. */
function filesText(dir: string): string {
  return readdirSync(dir, { recursive: true, withFileTypes: false })
    .map((f) => join(dir, String(f)))
    .filter((f) => statSync(f).isFile() && !f.endsWith('plan.yaml') && !f.includes('/models/'))
    .map((f) => readFileSync(f, 'latin1'))
    .join('\n');
}

const leaks = (text: string) => SECRETS.filter((s) => text.includes(s));

let served: Served;
beforeAll(async () => {
  served = await startServe('secret-scan-token');
}, 30_000);
afterAll(() => served.child.kill('SIGKILL'));

describe('credentials in plans', () => {
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
    const all = [answer, await (await api('/jobs')).text(), await (await api('/metrics')).text(), await (await api(`/jobs/${job.id}/checkpoints`)).text(), served.stderr()].join('\n');
    expect(leaks(all)).toEqual([]);
  });
});
