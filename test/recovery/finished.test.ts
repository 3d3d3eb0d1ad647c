/**
 * A run can be cut off after its final ("finished") checkpoint is durable but before its sinks commit it. The next
 * run starts afresh — a finished run is not resumed — but its sinks first commit what that checkpoint staged: the
 * source keeps its position across runs (an incremental sync), so it never sends that last epoch again. Driven
 * in-process through the real Job, recovery and DuckDB sink; the cut is a sink whose commit fails, which stops the
 * run where a SIGKILL would (the checkpoint is stored, the other sink's commit never runs).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { batchFromRows, defineSink, defineSource, schemaOf, z } from '../../engine/api.js';
import { loadComponents } from '../../engine/builtins.js';
import { compilePlan } from '../../engine/compile/compile.js';
import type { SinkContext } from '../../engine/operator.js';
import { loadPlanText } from '../../engine/plan/load.js';
import { Job } from '../../engine/runtime/job.js';
import { tempDir } from '../kit/cli.js';
import { rows } from '../kit/duckdb.js';

const schema = schemaOf({ id: 'int64' });
const ROWS = 100;

/** Rows 0…99 in batches of 10; a position that belongs to a connection, so a finished run's carries over. */
const numbers = defineSource({
  kind: 'numbers',
  summary: 'test source',
  config: z.object({}).strict(),
  examples: [],
  outputSchemas: () => ({ out: schema }),
  connection: () => 'numbers',
  create: () => ({
    async *read(from?: unknown) {
      for (let i = from === undefined ? 0 : (from as number) + 1; i < ROWS; i += 10)
        yield {
          batch: batchFromRows(
            schema,
            Array.from({ length: 10 }, (_, k) => ({ id: i + k })),
          ),
          resumeAfter: i + 9,
        };
    },
  }),
});

/** Records the checkpointing a run gave it; with `crash`, its commits fail. */
function cutting(seen: SinkContext['checkpointing'][]) {
  return defineSink({
    kind: 'cutting',
    summary: 'test sink',
    config: z.object({ crash: z.boolean() }).strict(),
    examples: [],
    create: (cfg, ctx) => {
      seen.push(ctx.checkpointing);
      return {
        write() {},
        async commit() {
          if (cfg.crash) throw new Error('cut off before the commit');
        },
        async close() {},
      };
    },
  });
}

async function run(dir: string, crash: boolean, seen: SinkContext['checkpointing'][]) {
  const { registry, modules } = await loadComponents();
  const plan = await compilePlan(
    loadPlanText(`
name: finished
engine: { checkpoint: { interval: 1h, path: ${join(dir, 'cp.duckdb')} } }
sources: [{ id: src, kind: numbers }]
sinks:
  - { id: cut, kind: cutting, inputs: [src], config: { crash: ${crash} } }
  - { id: out, kind: duckdb, inputs: [src], config: { path: ${join(dir, 'out.duckdb')}, table: t, mode: append } }
`),
    registry.with([numbers, cutting(seen)]),
  );
  return new Job(plan, { modules }).run();
}

describe('a run cut off after its final checkpoint', () => {
  it('the next run commits what that checkpoint staged, then starts afresh', async () => {
    const dir = tempDir();
    const seen: SinkContext['checkpointing'][] = [];
    await expect(run(dir, true, seen)).rejects.toThrow(/cut off before the commit/);
    // The only checkpoint (1) finished the run and is stored; the table's rows sit in its stage.
    expect(await rows(join(dir, 'out.duckdb'), 'SELECT count(*)::INT FROM t')).toEqual([[0]]);

    const result = await run(dir, false, seen);
    expect(result.resumedFrom).toBeNull();
    expect(seen[1]).toEqual({ resumeFrom: null, lastComplete: 1, firstId: 2, durable: true });
    // Every row once: the first run's, committed on open; the second run read nothing new.
    expect(await rows(join(dir, 'out.duckdb'), 'SELECT count(*)::INT, count(DISTINCT id)::INT, min(id)::INT, max(id)::INT FROM t')).toEqual([
      [ROWS, ROWS, 0, ROWS - 1],
    ]);
  });
});
