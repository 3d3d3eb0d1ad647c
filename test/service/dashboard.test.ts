/**
 * The dashboard in headless Chromium (Debian's `chromium`, driven by playwright-core): it finds the running job's
 * DAG with live numbers, and keeps a screenshot as a test artifact (test/artifacts/, not committed).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, ROOT, tempDir } from '../kit/cli.js';

const CHROMIUM = '/usr/bin/chromium';
let child: ChildProcess | undefined;
afterAll(() => child?.kill('SIGKILL'));

describe.skipIf(!existsSync(CHROMIUM))('dashboard', () => {
  it('shows each running job’s DAG with live per-node numbers', async () => {
    const token = 'dash-token';
    child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--grpc-port', '0', '--token-env', 'DASH_TOKEN'], {
      cwd: tempDir('abflow-dash-'),
      env: { ...process.env, DASH_TOKEN: token },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    const base = await new Promise<string>((resolve) =>
      child!.stderr!.on('data', (d: Buffer) => {
        log += d.toString();
        const m = /"port":(\d+),"grpcPort":\d+,"tls":false,"msg":"listening"/.exec(log);
        if (m) resolve(`http://127.0.0.1:${m[1]}`);
      }),
    );
    const plan =
      'name: clicks\nsources:\n  - { id: clicks, kind: generate, config: { generator: clickstream, rowsPerSecond: 5000 } }\noperators:\n  - { id: views, kind: filter, inputs: [clicks], config: { where: "action = \'view\'" } }\nsinks:\n  - { id: sink, kind: blackhole, inputs: [views] }\n';
    const r = await fetch(`${base}/jobs`, { method: 'POST', body: plan, headers: { authorization: `Bearer ${token}` } });
    expect(r.status).toBe(201);
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1100, height: 500 } });
      await page.goto(`${base}/dashboard#token=${token}`);
      const job = page.locator('section.job[data-job="clicks"]');
      await job.waitFor({ timeout: 15_000 });
      for (const id of ['clicks', 'views', 'sink']) await expect(job.locator(`g.node[data-node="${id}"]`).count()).resolves.toBe(1);
      expect(await job.locator('path.edge').count()).toBe(2);
      // Live: after a few polls the source shows a non-zero rate and the sink a growing total.
      // (Expressions as text: they run in the page, not in Node.)
      await page.waitForFunction(`/^[1-9][\\d.]*k?\\/s/.test(document.querySelector('g.node[data-node="clicks"] text.rate')?.textContent ?? '')`, undefined, {
        timeout: 15_000,
      });
      const first = await job.locator('g.node[data-node="sink"] text.rate').textContent();
      await page.waitForTimeout(1500);
      const later = await job.locator('g.node[data-node="sink"] text.rate').textContent();
      const rows = (t: string | null) => Number(/· ([\d.]+)(k?) rows/.exec(t ?? '')?.[1]) * (/k rows/.test(t ?? '') ? 1000 : 1);
      expect(rows(later)).toBeGreaterThan(rows(first));
      expect(await job.locator('.state').textContent()).toBe('running');
      const dir = join(ROOT, 'test/artifacts');
      mkdirSync(dir, { recursive: true });
      await page.screenshot({ path: join(dir, 'dashboard.png'), fullPage: true });
      expect(statSync(join(dir, 'dashboard.png')).size).toBeGreaterThan(5_000);
      // Without the token the page says why it shows nothing.
      const anon = await browser.newPage();
      await anon.goto(`${base}/dashboard`);
      await anon.waitForFunction(`/401/.test(document.getElementById('error')?.textContent ?? '')`, undefined, { timeout: 10_000 });
    } finally {
      await browser.close();
    }
  }, 90_000);
});
