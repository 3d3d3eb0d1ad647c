/**
 * What a source can ask of the runtime (vertices/source.ts), in this process (engine.inline): a source that tracks
 * event time itself (Kafka's per-partition watermarks) moves windows downstream without a watermark operator; a source
 * that drives checkpoints (Airbyte STATE) gets one right after each output that asks for it, and its markers reach
 * the sinks' commits in order, each once.
 */
import { describe, expect, it } from 'vitest';
import { batchFromRows, defineSink, defineSource, rowObject, schemaOf, z } from '../../engine/api.js';
import { loadComponents } from '../../engine/builtins.js';
import { compilePlan } from '../../engine/compile/compile.js';
import { loadPlanText } from '../../engine/plan/load.js';
import { Job } from '../../engine/runtime/job.js';

const schema = schemaOf({ k: 'string', ts: 'timestamp' });
const BATCHES = 6;

/** What the test saw: windows the sink got, how many had arrived before the source's last output, markers committed. */
interface Seen {
  windows: Record<string, unknown>[];
  windowsBeforeLast: number;
  commits: unknown[][];
}

/** Batch b: two rows at 10 b + 1 s and 10 b + 2 s, then a watermark at the batch's end (one regression, ignored);
 * every second batch asks for a checkpoint and carries a marker. */
function sources(seen: Seen) {
  return defineSource({
    kind: 'ticking',
    summary: 'test source',
    config: z.object({}).strict(),
    examples: [],
    drivesCheckpoints: true,
    outputSchemas: () => ({ out: schema }),
    create: () => ({
      async *read(from?: unknown) {
        for (let b = from === undefined ? 0 : (from as number) + 1; b < BATCHES; b++) {
          if (b === BATCHES - 1) {
            // Let the windows the watermarks closed reach the sink first.
            await new Promise((r) => setTimeout(r, 50));
            seen.windowsBeforeLast = seen.windows.length;
          }
          const rows = [1, 2].map((s) => ({ k: 'a', ts: (b * 10 + s) * 1000 }));
          yield {
            batch: batchFromRows(schema, rows),
            watermark: b === 3 ? 5_000 : (b + 1) * 10_000 - 1,
            ...(b % 2 === 1 ? { resumeAfter: b, checkpoint: true, markers: [`state ${b}`] } : {}),
          };
        }
      },
    }),
  });
}

function sinks(seen: Seen) {
  return defineSink({
    kind: 'recording',
    summary: 'test sink',
    config: z.object({ windows: z.boolean() }).strict(),
    examples: [],
    create: (cfg) => ({
      write(batch) {
        if (cfg.windows) for (let i = 0; i < batch.numRows; i++) seen.windows.push(rowObject(batch, i));
      },
      async commit(_id: number, markers: readonly unknown[]) {
        if (!cfg.windows) seen.commits.push([...markers]);
      },
      async close() {},
    }),
  });
}

describe('sources that track event time and drive checkpoints', () => {
  it('forwards the source watermark to windows, and takes the checkpoints it asks for with its markers', async () => {
    const seen: Seen = { windows: [], windowsBeforeLast: -1, commits: [] };
    const { registry, modules } = await loadComponents();
    const plan = await compilePlan(
      loadPlanText(`
name: ticking
engine: { inline: true }
sources: [{ id: src, kind: ticking }]
operators:
  - id: counts
    kind: window_aggregate
    inputs: [src]
    config: { timeColumn: ts, window: { type: tumbling, size: 10s }, aggregates: { n: count() } }
sinks:
  - { id: windows, kind: recording, inputs: [counts], config: { windows: true } }
  - { id: raw, kind: recording, inputs: [src], config: { windows: false } }
`),
      registry.with([sources(seen), sinks(seen)]),
    );
    const result = await new Job(plan, { modules }).run();
    expect(result.rowsIn).toBe(2 * BATCHES);
    // The watermarks closed the first five windows before the last output; the end closed the last.
    expect(seen.windowsBeforeLast).toBe(BATCHES - 1);
    expect(seen.windows.map((w) => w.n)).toEqual(Array.from({ length: BATCHES }, () => 2));
    // A checkpoint after batches 1, 3 and 5, and the final one: each marker committed once, in order.
    expect(seen.commits.flat()).toEqual(['state 1', 'state 3', 'state 5']);
    expect(result.checkpoints.length).toBeGreaterThanOrEqual(3);
  });
});
