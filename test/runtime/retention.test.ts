/**
 * Memory stays bounded by the queues over a long input: once a sink has written a batch, nothing in the engine keeps
 * it alive. Two leaks once kept every batch (a source racing each read against a long-lived "stop" promise; channel
 * waiters never removed), so a long stdin input grew RSS without bound. Checked with WeakRefs and a forced GC.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { batchFromRows, defineSink, defineSource, schemaOf, z } from '../../engine/api.js';
import { loadComponents } from '../../engine/builtins.js';
import { compilePlan } from '../../engine/compile/compile.js';
import { loadPlanText } from '../../engine/plan/load.js';
import { Channel } from '../../engine/runtime/channel.js';
import { Latch } from '../../engine/runtime/latch.js';
import { Job } from '../../engine/runtime/job.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** How many of `refs` survive a full collection (after the current task, so WeakRef targets may be collected). */
async function alive(refs: readonly WeakRef<object>[]): Promise<number> {
  await new Promise((r) => setTimeout(r, 0));
  gc();
  return refs.filter((r) => r.deref() !== undefined).length;
}

const schema = schemaOf({ x: 'int64' });

describe('retention', () => {
  it('drops every batch a sink has written while the job runs', async () => {
    const refs: WeakRef<object>[] = [];
    let survivors = -1;
    const source = defineSource({
      kind: 'tracked',
      summary: 'test source',
      config: z.object({}).strict(),
      examples: [],
      outputSchemas: () => ({ out: schema }),
      create: () => ({
        async *read() {
          for (let i = 0; i < 300; i++) {
            const batch = batchFromRows(schema, [{ x: i }]);
            refs.push(new WeakRef(batch));
            yield { batch };
          }
        },
      }),
    });
    let written = 0;
    const sink = defineSink({
      kind: 'checking',
      summary: 'test sink',
      config: z.object({}).strict(),
      examples: [],
      create: () => ({
        async write() {
          if (++written === 250) survivors = await alive(refs.slice(0, 200));
        },
        async close() {},
      }),
    });
    const { registry, modules } = await loadComponents();
    const plan = await compilePlan(
      loadPlanText(`
name: retention
engine: { queueCapacity: 4 }
sources: [{ id: src, kind: tracked }]
sinks: [{ id: out, kind: checking, inputs: [src] }]
`),
      registry.with([source, sink]),
    );
    await new Job(plan, { modules }).run();
    expect(written).toBe(300);
    expect(survivors).toBe(0);
  });

  it('a channel keeps no element it has handed over', async () => {
    const ch = new Channel<object>('c', 2);
    const refs: WeakRef<object>[] = [];
    for (let i = 0; i < 100; i++) {
      const pulled = ch.pull(); // waits first, so the element goes straight to a waiting puller
      const el = { i };
      refs.push(new WeakRef(el));
      await ch.push(el);
      await pulled;
    }
    // The last element may still sit in this function's own frame.
    expect(await alive(refs.slice(0, -1))).toBe(0);
  });

  it('a latch race leaves nothing behind once its work settles, and a fired latch wins every race', async () => {
    const stop = new Latch<'stop'>();
    const refs: WeakRef<object>[] = [];
    for (let i = 0; i < 100; i++) {
      const value = { i };
      refs.push(new WeakRef(value));
      expect(await stop.race(Promise.resolve(value))).toBe(value);
    }
    await expect(stop.race(Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(stop.waiting).toBe(0);
    expect(await alive(refs.slice(0, -1))).toBe(0);
    const pending = stop.race(new Promise(() => undefined));
    stop.fire('stop');
    expect(await pending).toBe('stop');
    expect(await stop.race(Promise.resolve(1))).toBe('stop');
  });
});
