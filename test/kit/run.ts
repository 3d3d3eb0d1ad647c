/**
 * Runs a plan in-process with a `collect` sink that keeps every row it receives, keyed by sink id.
 */
import { defineSink, rowObject, z, type AnySpec } from '../../engine/api.js';
import { loadComponents } from '../../engine/builtins.js';
import { compilePlan, type CompiledPlan } from '../../engine/compile/compile.js';
import { loadPlanText } from '../../engine/plan/load.js';
import { Job, type JobResult } from '../../engine/runtime/job.js';

export type Rows = Record<string, unknown>[];

export function collectSink(store: Map<string, Rows>) {
  return defineSink({
    kind: 'collect',
    summary: 'test sink keeping rows in memory',
    config: z.object({}).strict(),
    inputs: { min: 1, max: 16 },
    examples: [],
    create: (_cfg, ctx) => {
      const rows: Rows = [];
      store.set(ctx.nodeId, rows);
      return {
        write(batch) {
          for (let i = 0; i < batch.numRows; i++) rows.push(rowObject(batch, i));
        },
        async close() {},
      };
    },
  });
}

export async function compileText(text: string, extra: readonly AnySpec[] = []): Promise<CompiledPlan> {
  const { registry } = await loadComponents();
  return compilePlan(loadPlanText(text), registry.with(extra));
}

/** `rows` may be passed in to watch the collected rows while the job runs. */
export async function runText(
  text: string,
  extra: readonly AnySpec[] = [],
  rows = new Map<string, Rows>(),
): Promise<{ result: JobResult; rows: Map<string, Rows>; plan: CompiledPlan }> {
  const { modules } = await loadComponents();
  const plan = await compileText(text, [collectSink(rows), ...extra]);
  const result = await new Job(plan, { modules }).run();
  return { result, rows, plan };
}
