/**
 * The container's exact install, without a Docker engine: the runtime stage's files (package.json, lock file,
 * .npmrc, the built dist/, plans/, models/) in an empty folder, `npm ci --omit=dev --ignore-scripts`, then the
 * image's entrypoint and default command. Proves the production dependencies suffice and nothing reaches into
 * dev dependencies or sources.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT, tempDir } from '../kit/cli.js';

it('the Dockerfile’s production install runs `abflow run plans/payments.yaml`, and its default command serves and passes the healthcheck', async () => {
  const docker = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const install = /RUN (npm ci --omit=dev[^&\n]*)/.exec(docker)![1]!.trim().split(/\s+/);
  const entry = JSON.parse(/ENTRYPOINT (\[.*\])/.exec(docker)![1]!) as string[];
  const cmd = JSON.parse(/^CMD (\[.*\])/m.exec(docker)![1]!) as string[];
  const app = tempDir('abflow-prod-');
  for (const f of ['package.json', 'package-lock.json', '.npmrc']) cpSync(join(ROOT, f), join(app, f));
  // What the runtime stage copies from the context (after its FROM); tempDir links models/ in already.
  const runtime = docker.slice(docker.lastIndexOf('\nFROM '));
  const copied = [...runtime.matchAll(/^COPY (\w+) \.\/\1$/gm)].map((m) => m[1]!);
  expect(copied).toEqual(expect.arrayContaining(['plans', 'models', 'proto']));
  for (const d of ['dist', ...copied.filter((d) => d !== 'models')]) cpSync(join(ROOT, d), join(app, d), { recursive: true });
  expect(existsSync(join(app, 'models/payments-iforest.onnx'))).toBe(true);
  execFileSync(install[0]!, install.slice(1), { cwd: app, stdio: 'pipe', env: { ...process.env, NODE_ENV: 'production' } });
  expect(existsSync(join(app, 'node_modules/typescript'))).toBe(false); // dev dependencies stay out
  const node = (args: string[]) => (args[0] === 'node' ? [process.execPath, ...args.slice(1)] : args);
  const [exe, ...base] = node(entry);
  const r = spawnSync(exe!, [...base, 'run', 'plans/payments.yaml', '-q'], { cwd: app, encoding: 'utf8', env: { ...process.env, NODE_ENV: 'production' } });
  expect(r.status, r.stderr).toBe(0);
  expect(existsSync(join(app, 'out/payments.duckdb'))).toBe(true);
  // The default command (the service) refuses to start without an API token; with one it serves and passes the
  // HEALTHCHECK command.
  expect(cmd[0]).toBe('serve');
  const args = [...base, ...cmd.map((a) => (a === '0.0.0.0' ? '127.0.0.1' : a)), '--grpc-port', '0'];
  const { ABFLOW_API_TOKEN: _unset, ...env } = process.env;
  const refused = spawnSync(exe!, args, { cwd: app, encoding: 'utf8', env: { ...env, NODE_ENV: 'production' }, timeout: 30_000 });
  expect(refused.status).toBe(2);
  expect(refused.stderr).toContain('holds no API token');
  const serve = spawn(exe!, args, {
    cwd: app,
    env: { ...env, NODE_ENV: 'production', ABFLOW_API_TOKEN: 'container-token' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  try {
    let log = '';
    await new Promise<void>((resolve, reject) => {
      serve.stderr.on('data', (d: Buffer) => /"msg":"listening"/.test((log += d.toString())) && resolve());
      serve.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${log}`)));
    });
    const check = JSON.parse(/HEALTHCHECK[^\n]*\n\s*CMD (\[.*\])/.exec(docker)![1]!) as string[];
    const [hexe, ...hargs] = node(check);
    const h = spawnSync(hexe!, hargs, { encoding: 'utf8' });
    expect(h.status, h.stderr).toBe(0);
  } finally {
    serve.kill('SIGTERM');
  }
}, 300_000);
