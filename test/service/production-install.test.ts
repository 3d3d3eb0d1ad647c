/**
 * The container's exact install, without a Docker engine: the runtime stage's files (package.json, lock file,
 * .npmrc, the built dist/, plans/, models/) in an empty folder, `npm ci --omit=dev --ignore-scripts`, then the
 * image's entrypoint and default command. Proves the production dependencies suffice and nothing reaches into
 * dev dependencies or sources.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT, tempDir } from '../kit/cli.js';

it('the Dockerfile’s production install runs `abflow run plans/payments.yaml`', () => {
  const docker = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const install = /RUN (npm ci --omit=dev[^&\n]*)/.exec(docker)![1]!.trim().split(/\s+/);
  const entry = JSON.parse(/ENTRYPOINT (\[.*\])/.exec(docker)![1]!) as string[];
  const cmd = JSON.parse(/CMD (\[.*\])/.exec(docker)![1]!) as string[];
  const app = tempDir('abflow-prod-');
  for (const f of ['package.json', 'package-lock.json', '.npmrc']) cpSync(join(ROOT, f), join(app, f));
  for (const d of ['dist', 'plans']) cpSync(join(ROOT, d), join(app, d), { recursive: true });
  // tempDir links models/ in; the image copies it.
  expect(existsSync(join(app, 'models/payments-iforest.onnx'))).toBe(true);
  execFileSync(install[0]!, install.slice(1), { cwd: app, stdio: 'pipe', env: { ...process.env, NODE_ENV: 'production' } });
  expect(existsSync(join(app, 'node_modules/typescript'))).toBe(false); // dev dependencies stay out
  const r = spawnSync(entry[0] === 'node' ? process.execPath : entry[0]!, [...entry.slice(1), ...cmd, '-q'], { cwd: app, encoding: 'utf8', env: { ...process.env, NODE_ENV: 'production' } });
  expect(r.status, r.stderr).toBe(0);
  expect(existsSync(join(app, 'out/payments.duckdb'))).toBe(true);
}, 300_000);
