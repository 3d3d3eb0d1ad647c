/**
 * Who may do what through `abflow serve` (issue "hardening", item 1), against a real service over HTTP and gRPC:
 * it does not start unauthenticated (except on loopback with --insecure-no-auth); a plan submitted over the API runs
 * no process and loads no plugin unless the operator allowed it, and reads and writes only inside the data
 * directory — no absolute path, no `..`, no symbolic link out of it. Refusals are 403 (PERMISSION_DENIED) with the
 * reason, and the file system shows that nothing ran: no marker file, nothing written.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ROOT } from '../kit/cli.js';
import { type Served, startServe } from '../kit/serve.js';

const TOKEN = 'policy-token-31ab';
const outside = mkdtempSync(join(tmpdir(), 'abflow-outside-'));
const MARKER = join(outside, 'ran');
// A connector executable the operator allows: a wrapper around the test's fake source.
const CONNECTOR = join(outside, 'fake-connector');
writeFileSync(CONNECTOR, `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, 'test/airbyte/fixtures/fake-source.mjs')}" "$@"\n`);
chmodSync(CONNECTOR, 0o755);

let served: Served;
beforeAll(async () => {
  served = await startServe(TOKEN, ['--allow-command', CONNECTOR]);
  symlinkSync(outside, join(served.dataDir, 'escape'));
  writeFileSync(
    join(served.dataDir, 'evil.mjs'),
    `import { writeFileSync } from 'node:fs'; writeFileSync(${JSON.stringify(MARKER)}, 'plugin'); export const abflowComponents = [];`,
  );
}, 30_000);
afterAll(() => served.child.kill('SIGKILL'));

const submit = (plan: string) => fetch(`${served.base}/jobs`, { method: 'POST', body: plan, headers: { authorization: `Bearer ${TOKEN}` } });
const source = (config: string) =>
  `name: p${Math.random().toString(36).slice(2, 8)}\nsources:\n  - { id: src, kind: airbyte_source, config: ${config} }\nsinks:\n  - { id: out, kind: blackhole, inputs: [src.items] }\n`;
const sink = (path: string) =>
  `name: s${Math.random().toString(36).slice(2, 8)}\nsources:\n  - { id: src, kind: generate, config: { generator: payments, count: 5 } }\nsinks:\n  - { id: out, kind: jsonl, inputs: [src], config: { path: ${JSON.stringify(path)} } }\n`;

async function refused(plan: string, reason: RegExp): Promise<void> {
  const r = await submit(plan);
  expect(r.status).toBe(403);
  const body = (await r.json()) as { error: string; problems: string[] };
  expect(body.problems.join('\n')).toMatch(reason);
}

describe('abflow serve: the security model', () => {
  it('does not start without a token, except on loopback with --insecure-no-auth', async () => {
    const { TEST_ABFLOW_TOKEN: _t, ABFLOW_API_TOKEN: _a, ...env } = process.env;
    for (const host of ['0.0.0.0', '127.0.0.1']) {
      const r = spawnSync(process.execPath, [CLI, 'serve', '--host', host, '--port', '0', '--grpc-port', '0'], { env, encoding: 'utf8', timeout: 20_000 });
      expect(r.status, host).toBe(2);
      expect(r.stderr).toMatch(/holds no API token/);
    }
    const wide = spawnSync(process.execPath, [CLI, 'serve', '--host', '0.0.0.0', '--insecure-no-auth', '--port', '0', '--grpc-port', '0'], {
      env,
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(wide.status).toBe(2);
    const local = spawn(process.execPath, [CLI, 'serve', '--host', '127.0.0.1', '--insecure-no-auth', '--port', '0', '--grpc-port', '0'], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    await new Promise<void>((resolve, reject) => {
      local.stderr.on('data', (d: Buffer) => /"msg":"listening"/.test((log += d.toString())) && resolve());
      local.on('exit', (code) => reject(new Error(`exited ${code}: ${log}`)));
    });
    expect(log).toMatch(/--insecure-no-auth/);
    local.kill('SIGKILL');
  });

  it('runs no process a submitted plan names unless allowed, not even its discover', async () => {
    await refused(source(`{ command: [sh, -c, "touch ${MARKER}"], config: {} }`), /running `sh` is not allowed \(allowed: .*fake-connector\)/);
    await refused(source(`{ command: "sh -c touch", config: {} }`), /running `sh` is not allowed/);
    const dest = `name: d1\nsources:\n  - { id: src, kind: generate, config: { generator: payments, count: 1 } }\nsinks:\n  - { id: out, kind: airbyte_destination, inputs: [src], config: { streams: [x], command: [sh, -c, "touch ${MARKER}"], config: {}, catalog: c.json } }\n`;
    await refused(dest, /running `sh` is not allowed/);
    expect(existsSync(MARKER)).toBe(false);
    // The allowed connector runs.
    const ok = await submit(source(`{ command: [${CONNECTOR}], config: { total: 3, every: 1 } }`));
    expect(ok.status, await ok.clone().text()).toBe(201);
  });

  it('reads and writes only inside the data directory', async () => {
    await refused(sink(join(outside, 'abs.jsonl')), /paths must be relative to the service's data directory/);
    await refused(sink('../up.jsonl'), /without `\.\.`/);
    await refused(sink('escape/through-link.jsonl'), /leads outside the service's data directory/);
    await refused(
      `name: dl\nengine: { deadLetters: /tmp/dl.jsonl }\nsources:\n  - { id: src, kind: generate, config: { generator: payments, count: 1 } }\nsinks:\n  - { id: out, kind: blackhole, inputs: [src] }\n`,
      /engine\.deadLetters/,
    );
    await refused(
      `name: rd\nsources:\n  - { id: src, kind: jsonl, config: { path: /etc/passwd } }\nsinks:\n  - { id: out, kind: blackhole, inputs: [src] }\n`,
      /reading `\/etc\/passwd` is not allowed/,
    );
    expect(existsSync(join(outside, 'abs.jsonl')) || existsSync(join(outside, 'through-link.jsonl'))).toBe(false);
    const ok = await submit(sink('out/inside.jsonl'));
    expect(ok.status).toBe(201);
  });

  it('loads no plugin a submitted plan names unless allowed; gRPC refuses alike', async () => {
    await refused(
      `name: pl\nplugins: [./evil.mjs]\nsources:\n  - { id: src, kind: generate, config: { generator: payments, count: 1 } }\nsinks:\n  - { id: out, kind: blackhole, inputs: [src] }\n`,
      /--allow-plugins/,
    );
    expect(existsSync(MARKER)).toBe(false);
    const client = served.client() as unknown as grpc.Client &
      Record<string, (req: unknown, md: grpc.Metadata, cb: (e: grpc.ServiceError | null) => void) => void>;
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${TOKEN}`);
    const code = await new Promise<number | undefined>((resolve) => client.SubmitJob!({ plan_yaml: sink('/tmp/x.jsonl') }, md, (e) => resolve(e?.code)));
    client.close();
    expect(code).toBe(grpc.status.PERMISSION_DENIED);
  });
});
