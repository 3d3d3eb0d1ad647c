/**
 * The golden plans again, in this process with `engine.inline` (every operator on this thread, through the hosts the
 * worker threads run): the same expected outputs. Besides pinning that an inline run is a real run, this is how the
 * mutation suite (`npm run mutate`) sees the whole engine — runtime, operators, sinks — execute: code in worker
 * threads runs unmutated. Paths in the plan are made absolute (a run resolves them against the working directory).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { loadComponents } from '../../engine/builtins.js';
import { compilePlan } from '../../engine/compile/compile.js';
import { loadPlanText } from '../../engine/plan/load.js';
import { Job, type JobResult } from '../../engine/runtime/job.js';
import { caseCopy, countersOf, expectedCountersOf, expectedOf, GOLDEN_CASES, outputsOf } from './cases.js';

/** Runs the plan in `dir` inline; returns what it printed and the job's result. */
async function runInline(dir: string): Promise<{ printed: string; result: JobResult }> {
  const text = readFileSync(join(dir, 'plan.yaml'), 'utf8').replace(
    /\b(path|catalog|deadLetters): ([\w./-]+)/g,
    (_, key: string, p: string) => `${key}: ${join(dir, p)}`,
  );
  const { registry, modules } = await loadComponents();
  const plan = await compilePlan(loadPlanText(text), registry, { inline: true, parallelism: 2 });
  let printed = '';
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
    printed += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    const done = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    done?.();
    return true;
  });
  try {
    const result = await new Job(plan, { modules }).run();
    return { printed, result };
  } finally {
    write.mockRestore();
  }
}

describe('golden plans, inline in this process', () => {
  for (const name of GOLDEN_CASES) {
    it(name, async () => {
      const dir = caseCopy(name);
      const { printed, result } = await runInline(dir);
      expect(outputsOf(dir, printed)).toEqual(expectedOf(name));
      expect(countersOf(result)).toBe(expectedCountersOf(name));
    });
  }
});
