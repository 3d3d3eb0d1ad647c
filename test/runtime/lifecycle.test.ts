/**
 * A job's lifecycle, in this process (engine.inline), through the Job production runs: a part that fails fails the
 * job and is named; a graceful stop drains and says it stopped; a stop with a grace period terminates a job that does
 * not drain, naming what is still running; `maxDeadLetterRatio` fails a run while it goes (from 1 000 rows read) and
 * at its end; progress and start are reported. The CLI tests check the same through the process users start.
 */
import { describe, expect, it } from 'vitest';
import { AbflowError, batchFromRows, defineSink, defineSource, schemaOf, z } from '../../engine/api.js';
import { loadComponents } from '../../engine/builtins.js';
import { compilePlan } from '../../engine/compile/compile.js';
import { loadPlanText } from '../../engine/plan/load.js';
import { Job, type Progress, type RunOptions } from '../../engine/runtime/job.js';
import { tempDir } from '../kit/cli.js';

const schema = schemaOf({ id: 'int64', day: 'string' });

/** `batches` batches of `size` rows (every `badEvery`-th day impossible), `pauseMs` apart; with `failAt`, throws then. */
const numbered = defineSource({
  kind: 'numbered',
  summary: 'test source',
  config: z
    .object({ batches: z.number(), size: z.number(), badEvery: z.number().default(0), pauseMs: z.number().default(0), failAt: z.number().default(-1) })
    .strict(),
  examples: [],
  outputSchemas: () => ({ out: schema }),
  create: (cfg) => ({
    async *read() {
      for (let b = 0; b < cfg.batches; b++) {
        if (b === cfg.failAt) throw new Error('the feed went away');
        if (cfg.pauseMs) await new Promise((r) => setTimeout(r, cfg.pauseMs));
        const rows = Array.from({ length: cfg.size }, (_, k) => {
          const id = b * cfg.size + k;
          return { id, day: cfg.badEvery && id % cfg.badEvery === 0 ? '2026-02-30' : '2026-02-28' };
        });
        yield { batch: batchFromRows(schema, rows) };
      }
    },
  }),
});

/** Counts rows; with `stuck`, its first write never returns (a sink waiting on a dead server); with `fails`, its
 * first write throws that (`abflow`: an AbflowError naming no node). */
function counting(written: { rows: number }) {
  return defineSink({
    kind: 'counting',
    summary: 'test sink',
    config: z.object({ stuck: z.boolean().default(false), fails: z.enum(['no', 'abflow', 'plain']).default('no') }).strict(),
    examples: [],
    create: (cfg) => ({
      async write(batch) {
        if (cfg.stuck) await new Promise(() => {});
        if (cfg.fails === 'abflow') throw new AbflowError('sink_io', 'the warehouse said no');
        if (cfg.fails === 'plain') throw new Error('socket hang up');
        written.rows += batch.numRows;
      },
      async commit() {},
      async close() {},
    }),
  });
}

async function job(yaml: string, written = { rows: 0 }, opts: Partial<RunOptions> = {}): Promise<Job> {
  const { registry, modules } = await loadComponents();
  const plan = await compilePlan(loadPlanText(yaml), registry.with([numbered, counting(written)]), { inline: true });
  return new Job(plan, { modules, ...opts });
}

const plan = (source: string, engine = '', sink = '{}') => `
name: lifecycle
engine: { deadLetters: ${tempDir()}/dead.jsonl${engine} }
sources: [{ id: src, kind: numbered, config: ${source} }]
operators: [{ id: parsed, kind: derive, inputs: [src], config: { columns: { at: "parse_timestamp(day)" } } }]
sinks: [{ id: out, kind: counting, inputs: [parsed], config: ${sink} }]
`;

async function failureOf(p: Promise<unknown>): Promise<AbflowError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AbflowError);
  return e as AbflowError;
}

describe('job lifecycle', () => {
  it('runs through: reports its start and progress, counts every row, and was not stopped', async () => {
    const progress: Progress[] = [];
    const started: unknown[] = [];
    const written = { rows: 0 };
    const j = await job(plan('{ batches: 20, size: 10, pauseMs: 5 }'), written, {
      onProgress: (p) => progress.push(p),
      progressIntervalMs: 10,
      onStarted: (s) => started.push(s),
    });
    const result = await j.run();
    expect([result.rowsIn, result.rowsOut, result.deadLetters, result.stopped, written.rows]).toEqual([200, 200, 0, false, 200]);
    expect(started).toEqual([{ resumedFrom: null }]);
    expect(progress.length).toBeGreaterThan(1);
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.rowsIn).toBeGreaterThanOrEqual(progress[i - 1]!.rowsIn);
    expect(progress.at(-1)!.elapsedMs).toBeGreaterThan(0);
    expect(result.durationMs).toBeGreaterThanOrEqual(progress.at(-1)!.elapsedMs);
    expect(result.channels.length).toBeGreaterThan(0);
    expect(j.status().queues.every((q) => q.depth === 0)).toBe(true);
  });

  it('fails when a part fails, naming it', async () => {
    const e = await failureOf((await job(plan('{ batches: 5, size: 10, failAt: 2 }'))).run());
    expect(e.message).toMatch(/the feed went away/);
    expect(e.nodeId).toBe('src');
  });

  it('fails when a sink fails, naming the sink whatever error it threw', async () => {
    const named = await failureOf((await job(plan('{ batches: 3, size: 10 }', '', '{ fails: abflow }'))).run());
    expect([named.code, named.message, named.nodeId]).toEqual(['sink_io', 'the warehouse said no', 'out']);
    const plain = await failureOf((await job(plan('{ batches: 3, size: 10 }', '', '{ fails: plain }'))).run());
    expect(plain.message).toMatch(/socket hang up/);
    expect(plain.nodeId).toBe('out');
  });

  it('stops gracefully: what was read reaches the sink, and the result says it stopped', async () => {
    const written = { rows: 0 };
    const j = await job(plan('{ batches: 100000, size: 10, pauseMs: 2 }'), written, {
      onProgress: (p) => p.rowsIn >= 50 && j.stop(),
      progressIntervalMs: 5,
    });
    const result = await j.run();
    expect(result.stopped).toBe(true);
    expect(result.rowsIn).toBeGreaterThanOrEqual(50);
    expect(result.rowsIn).toBeLessThan(1_000_000);
    expect(written.rows).toBe(result.rowsIn);
    expect(result.rowsOut).toBe(result.rowsIn);
  });

  it('terminates a job that does not drain within the grace period of a stop, naming what is still running', async () => {
    const j = await job(plan('{ batches: 100000, size: 10, pauseMs: 2 }', '', '{ stuck: true }'));
    const running = j.run();
    setTimeout(() => j.stop(50), 30);
    const e = await failureOf(running);
    expect(e.message).toMatch(/^job lifecycle was terminated: it did not drain within 0\.05 s of the stop; still running: .*\bout\b/);
    // The chain upstream may be blocked on the full queue to the sink: then it is named first, as what runs.
    expect(['parsed', 'out']).toContain(e.nodeId);
  });

  it('terminates at once when told, and a second terminate changes nothing', async () => {
    const j = await job(plan('{ batches: 100000, size: 10, pauseMs: 2 }'));
    const running = j.run();
    setTimeout(() => void j.terminate('the operator pressed stop twice').then(() => j.terminate('again')), 20);
    const e = await failureOf(running);
    // The parts still running, named as the plan names them (a chain by its operators).
    expect(e.message).toMatch(
      /^job lifecycle was terminated: the operator pressed stop twice; still running: (src|chain parsed|out|dead_letters)(, (src|chain parsed|out|dead_letters))*$/,
    );
    await j.terminate('after the end');
    expect(j.failure).toBe(e);
  });

  it('fails a run whose dead letters pass maxDeadLetterRatio: while it goes from 1 000 rows, else at its end', async () => {
    // 1 in 4 rows is a dead letter: 25 % > 10 %. 2 000 rows: the check while the run goes fails it.
    const during = await failureOf((await job(plan('{ batches: 200, size: 10, badEvery: 4, pauseMs: 1 }', ', maxDeadLetterRatio: 0.1'))).run());
    expect(during.message).toMatch(/^\d+ of \d+ rows read became dead letters \(2\d\.\d %\), more than engine\.maxDeadLetterRatio 0\.1; see .*dead\.jsonl/);
    expect(during.message).not.toMatch(/checked at the end/);
    expect(during.nodeId).toBe('dead_letters');
    // 40 rows, 10 dead: too few rows for the check while it runs; the end of the run fails it.
    const atEnd = await failureOf((await job(plan('{ batches: 4, size: 10, badEvery: 4 }', ', maxDeadLetterRatio: 0.1'))).run());
    expect(atEnd.message).toBe(
      `10 of 40 rows read became dead letters (25.0 %), more than engine.maxDeadLetterRatio 0.1; see ${atEnd.message.match(/see (\S+dead\.jsonl)/)![1]} or the plan's dead-letter sinks (checked at the end of the run: its output was committed)`,
    );
    // At the limit is not over it.
    const result = await (await job(plan('{ batches: 4, size: 10, badEvery: 4 }', ', maxDeadLetterRatio: 0.25'))).run();
    expect([result.rowsIn, result.rowsOut, result.deadLetters]).toEqual([40, 30, 10]);
  });
});
