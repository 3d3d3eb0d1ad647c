/**
 * @module cli/shared
 * What the commands share: the plugin and parallelism options, compiling a plan file with its plugins, how a plan
 * error is reported (exit 2), and process-level helpers (a stalled job fails loudly; stdout is flushed before exit).
 */
import { dirname, resolve } from 'node:path';
import { InvalidArgumentError, Option } from 'commander';
import { loadComponents } from '../builtins.js';
import { compilePlan, type CompiledPlan } from '../compile/compile.js';
import { isAbflowError, PlanErrors } from '../errors.js';
import { parseDurationMs } from '../expr/functions.js';
import { type LoadedPlan, loadPlanFile } from '../plan/load.js';

export const pluginOption = () => new Option('--plugin <module...>', 'extra component modules (exporting abflowComponents)').default([]);
export const parallelismOption = () =>
  new Option('-p, --parallelism <n>', 'worker threads (overrides engine.parallelism)').argParser((v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error('--parallelism must be a positive integer');
    return n;
  });

/** The built-in components plus the `--plugin` modules and the plan's own `plugins` (relative to the plan file). */
export async function planComponents(plan: LoadedPlan, cliPlugins: readonly string[]) {
  const listed = (plan.value as { plugins?: unknown } | null)?.plugins;
  const fromPlan = Array.isArray(listed) ? listed.filter((p): p is string => typeof p === 'string').map((p) => resolve(dirname(plan.file), p)) : [];
  return loadComponents([...cliPlugins, ...fromPlan]);
}

export async function compile(file: string, opts: { plugin: string[]; parallelism?: number }): Promise<CompiledPlan> {
  const loaded = loadPlanFile(file);
  const { registry } = await planComponents(loaded, opts.plugin);
  return compilePlan(loaded, registry, opts.parallelism ? { parallelism: opts.parallelism } : {});
}

export function reportPlanError(e: unknown): never {
  if (e instanceof PlanErrors) {
    for (const err of e.errors) process.stderr.write(`error: ${err.format()}\n`);
    process.stderr.write(`${e.errors.length} error${e.errors.length > 1 ? 's' : ''} in the plan\n`);
    process.exit(2);
  }
  if (isAbflowError(e) && (e.location || e.domain === 'user')) {
    process.stderr.write(`error: ${e.format()}\n`);
    process.exit(2);
  }
  throw e;
}

/** A job that settles neither way leaves Node nothing to do, and Node would then exit 0 as if it had succeeded: a
 * running job fails loudly instead. */
export function failIfStalled(): void {
  process.on('beforeExit', () => {
    process.stderr.write('error: internal: the job stopped making progress without finishing (an await that never settles); please report this\n');
    process.exit(70);
  });
}

/** `--stop-timeout`: how long a stop may drain before the job is terminated. */
export function stopTimeoutOption(): Option {
  return new Option(
    '--stop-timeout <duration>',
    'after a stop (SIGTERM, Ctrl-C, DELETE), how long the job may drain before it is terminated (its output after the last commit is not committed)',
  )
    .default(30_000, '30s')
    .argParser((v) => {
      const ms = parseDurationMs(v) ?? (/^\d+$/.test(v) ? Number(v) : null);
      if (ms === null) throw new InvalidArgumentError('a duration such as 30s or 2m');
      return ms;
    });
}

/** Exits once stdout is written out: writes to a pipe are asynchronous, and `process.exit` would cut them off. */
export async function exitFlushed(code: number): Promise<never> {
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  process.exit(code);
}
