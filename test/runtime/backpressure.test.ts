/**
 * A slow sink slows the source: what is buffered between them is bounded by the queues and the in-flight limit,
 * whatever the input size. Checked on counts (batches produced minus batches written), never on time.
 */
import { describe, expect, it } from 'vitest';
import { batchFromRows, defineSink, defineSource, schemaOf, z } from '../../engine/api.js';
import { loadComponents } from '../../engine/builtins.js';
import { compilePlan } from '../../engine/compile/compile.js';
import { loadPlanText } from '../../engine/plan/load.js';
import { Job } from '../../engine/runtime/job.js';

const schema = schemaOf({ x: 'int64' });

function harness() {
  const state = { produced: 0, written: 0, maxLag: 0 };
  const source = defineSource({
    kind: 'counting',
    summary: 'test source',
    config: z.object({ batches: z.number() }).strict(),
    examples: [],
    outputSchemas: () => ({ out: schema }),
    create: (cfg) => ({
      async *read() {
        for (let i = 0; i < cfg.batches; i++) {
          state.produced++;
          yield {
            batch: batchFromRows(
              schema,
              Array.from({ length: 100 }, (_, k) => ({ x: i * 100 + k })),
            ),
          };
        }
      },
    }),
  });
  const sink = defineSink({
    kind: 'slow',
    summary: 'test sink',
    config: z.object({}).strict(),
    examples: [],
    create: () => ({
      async write() {
        await new Promise((r) => setTimeout(r, 3));
        state.written++;
        state.maxLag = Math.max(state.maxLag, state.produced - state.written);
      },
      async close() {},
    }),
  });
  return { state, specs: [source, sink] };
}

async function run(batches: number) {
  const h = harness();
  const { registry, modules } = await loadComponents();
  const text = `
name: bp
engine: { parallelism: 2, queueCapacity: 4 }
sources: [{ id: src, kind: counting, config: { batches: ${batches} } }]
operators: [{ id: twice, kind: derive, inputs: [src], config: { columns: { y: "x * 2" } } }]
sinks: [{ id: out, kind: slow, inputs: [twice] }]
`;
  const plan = await compilePlan(loadPlanText(text), registry.with(h.specs));
  const result = await new Job(plan, { modules }).run();
  return { ...h.state, result };
}

describe('backpressure', () => {
  it('bounds what is buffered between a fast source and a slow sink, independent of input size', async () => {
    const small = await run(40);
    const large = await run(160);
    expect(large.written).toBe(160);
    // Two edges of capacity 4, plus at most parallelism × 2 batches in the pool, plus one in each loop's hands.
    const bound = 4 + 4 + 2 * 2 + 3;
    expect(small.maxLag).toBeLessThanOrEqual(bound);
    expect(large.maxLag).toBeLessThanOrEqual(bound);
    for (const c of large.result.channels) expect(c.maxDepth).toBeLessThanOrEqual(c.capacity);
  });
});
