/**
 * Where a run starts (runtime/recovery.ts), in this process (engine.inline) through the Job production runs: a
 * stopped run resumes from its last checkpoint and nothing is read twice; a checkpoint whose state belongs to a
 * changed or removed vertex is refused with what changed; `fromScratch` starts afresh; after a finished run, a source
 * whose position belongs to a connection continues from it, and the warning says so. resume-inline.test.ts checks
 * windows and DuckDB sinks across a resume; crash.test.ts kills the real process.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { batchFromRows, defineSink, defineSource, schemaOf, z } from '../../engine/api.js';
import { loadComponents } from '../../engine/builtins.js';
import { compilePlan } from '../../engine/compile/compile.js';
import { loadPlanText } from '../../engine/plan/load.js';
import { Job, type JobResult, type RunOptions } from '../../engine/runtime/job.js';
import { fingerprint } from '../../engine/runtime/recovery.js';
import { tempDir } from '../kit/cli.js';

const schema = schemaOf({ id: 'int64' });
const BATCHES = 60;

/** How long the source waits before each batch (runToFirstCheckpoint paces it; pacing is not config, which a
 * checkpoint fingerprints). */
let pauseMs = 0;
/** The positions the runtime told the source were committed (Source.committed), in order. */
const committed: unknown[] = [];

/** Ids 0…599, ten new ones a batch, resumable after any batch; with `connection`, its position belongs to one. */
const ids = defineSource({
  kind: 'ids',
  summary: 'test source',
  config: z.object({ connection: z.string().optional() }).strict(),
  examples: [],
  outputSchemas: () => ({ out: schema }),
  connection: (cfg) => cfg.connection,
  create: () => ({
    async *read(from?: unknown) {
      for (let b = from === undefined ? 0 : (from as number) + 1; b < BATCHES; b++) {
        if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
        yield {
          // A batch repeats the ids of the one before it: `dedupe` drops them, across a resume only if its keyed
          // state was restored.
          batch: batchFromRows(
            schema,
            Array.from({ length: b ? 20 : 10 }, (_, k) => ({ id: (b ? b - 1 : 0) * 10 + k })),
          ),
          resumeAfter: b,
        };
      }
    },
    async committed(at: unknown) {
      committed.push(at);
    },
  }),
});

function collecting(seen: number[]) {
  return defineSink({
    kind: 'collecting',
    summary: 'test sink',
    config: z.object({}).strict(),
    examples: [],
    create: () => ({
      write(batch) {
        for (const v of batch.getChild('id')!.toArray() as BigInt64Array) seen.push(Number(v));
      },
      async commit() {},
      async close() {},
    }),
  });
}

const planText = (dir: string, { connection = '', filter = 'id >= 0', withFilter = true, withOperator = true } = {}) => `
name: recovery
engine: { inline: true, checkpoint: { interval: 10ms, path: ${join(dir, 'cp.duckdb')} } }
sources: [{ id: src, kind: ids, config: { ${connection ? `connection: ${connection}` : ''} } }]
${withOperator ? 'operators:' : ''}
${!withOperator ? '' : withFilter ? `  - { id: keep, kind: filter, inputs: [src], config: { where: "${filter}" } }` : '  - { id: keep, kind: select, inputs: [src], config: { columns: [id] } }'}
${withOperator ? '  - { id: unique, kind: dedupe, inputs: [keep], config: { key: [id], ttl: 1h } }' : ''}
sinks: [{ id: out, kind: collecting, inputs: [${withOperator ? 'unique' : 'src'}] }]
`;

async function run(text: string, seen: number[], opts: Partial<RunOptions> = {}): Promise<JobResult> {
  const { registry, modules } = await loadComponents();
  const plan = await compilePlan(loadPlanText(text), registry.with([ids, collecting(seen)]));
  return new Job(plan, { modules, ...opts }).run();
}

/** Runs (paced, 2 ms a batch) until the first checkpoint, then stops gracefully. */
async function runToFirstCheckpoint(text: string, seen: number[]): Promise<JobResult> {
  const { registry, modules } = await loadComponents();
  const plan = await compilePlan(loadPlanText(text), registry.with([ids, collecting(seen)]));
  const job: Job = new Job(plan, { modules, onCheckpoint: () => job.stop() });
  pauseMs = 2;
  try {
    return await job.run();
  } finally {
    pauseMs = 0;
  }
}

const all = Array.from({ length: BATCHES * 10 }, (_, i) => i);
/** Keyed partitions interleave their output: rows compared in id order. */
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

describe('recovery, inline', () => {
  it('a stopped run resumes from its checkpoint: every row once across the two runs', async () => {
    const dir = tempDir();
    const seen: number[] = [];
    const first = await runToFirstCheckpoint(planText(dir), seen);
    expect(first.stopped).toBe(true);
    expect(first.resumedFrom).toBeNull();
    expect(first.checkpoints.length).toBeGreaterThan(0);
    expect(seen.length).toBeLessThan(all.length);
    const warnings: string[] = [];
    const second = await run(planText(dir), seen, { onWarning: (w) => warnings.push(w) });
    expect(second.resumedFrom).toBe(first.checkpoints.at(-1)!.id);
    expect(second.checkpoints[0]!.id).toBe(second.resumedFrom! + 1);
    expect(warnings).toEqual([]);
    expect(sorted(seen)).toEqual(all);
  });

  it('tells the source which position each committed checkpoint covers, in order, the last being the end', async () => {
    committed.length = 0;
    const seen: number[] = [];
    const result = await runToFirstCheckpoint(planText(tempDir()), seen);
    // The stop's final checkpoint covers everything read: the last position committed is the last batch read (batch
    // b holds ids up to 10 b + 9).
    expect(committed.length).toBe(result.checkpoints.length);
    expect(committed.at(-1)).toBe(Math.floor(Math.max(...seen) / 10));
    for (let i = 1; i < committed.length; i++) expect(committed[i] as number).toBeGreaterThanOrEqual(committed[i - 1] as number);
  });

  it('refuses a checkpoint whose state belongs to a changed or removed vertex, and starts afresh when told', async () => {
    const dir = tempDir();
    await runToFirstCheckpoint(planText(dir), []);
    await expect(run(planText(dir, { filter: 'id >= 1' }), [])).rejects.toThrow(
      /^checkpoint \d+ does not fit this plan:\n {2}`keep` changed \(kind, config or input schema\): its saved state cannot be read safely$/,
    );
    await expect(run(planText(dir, { withFilter: false }), [])).rejects.toThrow(/`keep` changed/);
    await expect(run(planText(dir, { withOperator: false }), [])).rejects.toThrow(/`chain-1` has saved state but is no longer in the plan/);
    const seen: number[] = [];
    const fresh = await run(planText(dir, { filter: 'id >= 1' }), seen, { fromScratch: true });
    expect(fresh.resumedFrom).toBeNull();
    expect(fresh.checkpoints[0]!.id).toBe(1);
    expect(sorted(seen)).toEqual(all.slice(1));
  });

  it('after a finished run, a source with a connection continues from its position; others start afresh', async () => {
    const dir = tempDir();
    const warnings: string[] = [];
    await run(planText(dir, { connection: 'crm' }), []);
    const seen: number[] = [];
    const again = await run(planText(dir, { connection: 'crm' }), seen, { onWarning: (w) => warnings.push(w) });
    expect(again.resumedFrom).toBeNull();
    expect(sorted(seen)).toEqual([]);
    expect(warnings).toEqual([
      expect.stringMatching(
        /^the previous run finished \(checkpoint \d+\); src continues from its last committed position \(--from-scratch resets it\), everything else starts afresh$/,
      ),
    ]);

    warnings.length = 0;
    const other = await run(planText(dir, { connection: 'billing' }), seen, { onWarning: (w) => warnings.push(w) });
    expect(other.resumedFrom).toBeNull();
    expect(sorted(seen)).toEqual(all);
    expect(warnings).toEqual([
      expect.stringMatching(
        /^the previous run finished \(checkpoint \d+\); starting afresh; src: the connection changed \(other streams\), so its saved position was not used$/,
      ),
    ]);
  });

  it('after a finished run, a plan whose sources keep no connection state starts afresh', async () => {
    const warnings: string[] = [];
    const plain = tempDir();
    await run(planText(plain), []);
    warnings.length = 0;
    const rerun: number[] = [];
    await run(planText(plain), rerun, { onWarning: (w) => warnings.push(w) });
    expect(sorted(rerun)).toEqual(all);
    expect(warnings).toEqual([expect.stringMatching(/^the previous run finished \(checkpoint \d+\); starting afresh$/)]);
  });

  it('fingerprints what a vertex is: kind, config and input schema, or the connection of a source', async () => {
    const { registry } = await loadComponents();
    const vertices = async (text: string) => (await compilePlan(loadPlanText(text), registry.with([ids, collecting([])]))).physical.vertices;
    const dir = tempDir();
    const [a, b, c] = await Promise.all([planText(dir), planText(dir, { filter: 'id >= 1' }), planText(dir, { connection: 'crm' })].map(vertices));
    const byId = (vs: typeof a, id: string) => fingerprint(vs!.find((v) => v.id === id || (v.type === 'chain' && v.members.some((m) => m.nodeId === id)))!);
    expect(byId(a, 'src')).toBe(byId(b, 'src'));
    expect(byId(a, 'keep')).not.toBe(byId(b, 'keep'));
    expect(byId(a, 'out')).toBe(byId(b, 'out'));
    expect(byId(a, 'src')).not.toBe(byId(c, 'src'));
  });
});
