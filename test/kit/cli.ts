/** Runs the built CLI (dist/) as users do; tests run after `npm run build` (the README's test command). */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const CLI = join(ROOT, 'dist/engine/cli.js');
/** The team's fixtures and specs, beside the clone: CI has them there, a user's clone may not. Tests built on them are
 * skipped when the folder is absent, unless ABFLOW_REQUIRE_SHARED is set (`.ci/run` sets it), so that a misplaced
 * folder fails CI instead of passing it quietly. */
export const SHARED = resolve(ROOT, '../shared');
export const HAS_SHARED = existsSync(SHARED);
if (!HAS_SHARED && process.env.ABFLOW_REQUIRE_SHARED) throw new Error(`ABFLOW_REQUIRE_SHARED is set, but ${SHARED} does not exist`);

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function abflow(args: string[], opts: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv } = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: opts.cwd ?? ROOT,
    input: opts.input,
    encoding: 'utf8',
    env: { ...process.env, ...opts.env },
    maxBuffer: 64 << 20,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts the CLI without waiting (for signal tests). */
export function abflowAsync(args: string[], opts: { cwd?: string } = {}) {
  return spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** A fresh working directory for running the repo's plans, which read their models from models/ (linked in). */
export function tempDir(prefix = 'abflow-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  symlinkSync(join(ROOT, 'models'), join(dir, 'models'));
  return dir;
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Runs the CLI asynchronously. Crash tests kill it with SIGKILL: `killAfterMs` after the start, or `killAfter`
 * milliseconds after its stderr first contains `killAfterOutput`; not once its stderr matches `spare`. `onStderr` sees
 * its stderr so far as it grows. */
export function runCli(
  args: string[],
  opts: { cwd: string; killAfterMs?: number; killAfterOutput?: RegExp; killAfter?: number; spare?: RegExp; onStderr?: (stderr: string) => void },
): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    const kill = () => {
      if (!opts.spare?.test(stderr)) child.kill('SIGKILL');
    };
    let timer = opts.killAfterMs === undefined ? undefined : setTimeout(kill, opts.killAfterMs);
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      opts.onStderr?.(stderr);
      if (opts.killAfterOutput && !timer && opts.killAfterOutput.test(stderr)) timer = setTimeout(kill, opts.killAfter ?? 0);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr });
    });
  });
}
