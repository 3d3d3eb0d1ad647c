/**
 * The golden cases (folders here with a plan, its inputs and `expected/`) and how their output is read: every output
 * file of the run and the JSON lines it printed, as sorted JSON lines. `UPDATE_GOLDEN=1` rewrites `expected/`.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { vi } from 'vitest';
import { loadComponents } from '../../engine/builtins.js';
import { compilePlan } from '../../engine/compile/compile.js';
import { loadPlanText } from '../../engine/plan/load.js';
import { Job, type JobResult } from '../../engine/runtime/job.js';
import { tempDir } from '../kit/cli.js';

const HERE = import.meta.dirname;

export const GOLDEN_CASES = readdirSync(HERE, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(HERE, d.name, 'plan.yaml')))
  .map((d) => d.name);

export const sortedLines = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .sort()
    .join('\n') + '\n';

/** Every file under `dir`, relative. */
function filesUnder(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? filesUnder(join(dir, d.name), join(prefix, d.name)) : [join(prefix, d.name)],
  );
}

/** A copy of the case's folder (plan and inputs, not `expected/`) to run in. */
export function caseCopy(name: string): string {
  const dir = join(tempDir(`abflow-golden-${name}-`), name);
  cpSync(join(HERE, name), dir, { recursive: true, filter: (src) => !src.includes(`${name}/expected`) });
  return dir;
}

/** What a run in `dir` produced, keyed like `expected/`; a jsonl sink's commit record (`*.abflow.json`) is
 * bookkeeping, not output. */
export function outputsOf(dir: string, stdout: string): Record<string, string> {
  const actual = new Map(
    filesUnder(join(dir, 'out'))
      .filter((f) => !f.endsWith('.abflow.json'))
      .map((f) => [join('out', f), sortedLines(readFileSync(join(dir, 'out', f), 'utf8'))]),
  );
  actual.set('stdout.jsonl', sortedLines(stdout));
  return Object.fromEntries(actual);
}

/** The case's expected outputs; with `UPDATE_GOLDEN=1`, first rewritten from `actual`. */
export function expectedOf(name: string, actual?: Record<string, string>): Record<string, string> {
  const expectedDir = join(HERE, name, 'expected');
  if (actual && process.env.UPDATE_GOLDEN === '1') {
    rmSync(expectedDir, { recursive: true, force: true });
    for (const [f, text] of Object.entries(actual)) {
      mkdirSync(join(expectedDir, f, '..'), { recursive: true });
      writeFileSync(join(expectedDir, f), text);
    }
  }
  return Object.fromEntries(filesUnder(expectedDir).map((f) => [f, readFileSync(join(expectedDir, f), 'utf8')]));
}

interface SummaryNode {
  id: string;
  kind: string;
  role: string;
  decoded: boolean;
  rowsIn: number;
  rowsOut: number;
  dead: number;
  discarded: number;
  extra?: Record<string, number>;
}

/** What a run counted, without what depends on timing (busy time, batch sizes, checkpoints taken, the last watermark
 * a node forwarded, which depends on how its inputs interleave): per node rows in and out, dead letters, discards and
 * the operator's own counters, and the run's totals. The same for a threaded run, an inline one and the CLI's
 * `--summary-json`. */
export function countersOf(result: { nodes: readonly SummaryNode[]; rowsIn: number; rowsOut: number; deadLetters: number; stopped: boolean }): string {
  const nodes = result.nodes.map((n) => ({
    id: n.id,
    kind: n.kind,
    role: n.role,
    decoded: n.decoded,
    rowsIn: n.rowsIn,
    rowsOut: n.rowsOut,
    dead: n.dead,
    discarded: n.discarded,
    ...(n.extra ? { extra: n.extra } : {}),
  }));
  nodes.sort((a, b) => a.id.localeCompare(b.id));
  return JSON.stringify({ rowsIn: result.rowsIn, rowsOut: result.rowsOut, deadLetters: result.deadLetters, stopped: result.stopped, nodes }, null, 2) + '\n';
}

/** The case's expected counters (`counters.json` beside the plan); with `UPDATE_GOLDEN=1`, first rewritten. */
export function expectedCountersOf(name: string, actual?: string): string {
  const file = join(HERE, name, 'counters.json');
  if (actual && process.env.UPDATE_GOLDEN === '1') writeFileSync(file, actual);
  return readFileSync(file, 'utf8');
}

/** Runs the plan in `dir` in this process (`inline`: every operator on this thread, else worker threads); returns what
 * it printed and the job's result. Paths in the plan are made absolute (a run resolves them against the working
 * directory). */
export async function runInProcess(dir: string, inline: boolean): Promise<{ printed: string; result: JobResult }> {
  const text = readFileSync(join(dir, 'plan.yaml'), 'utf8').replace(
    /\b(path|catalog|deadLetters): ([\w./-]+)/g,
    (_, key: string, p: string) => `${key}: ${join(dir, p)}`,
  );
  const { registry, modules } = await loadComponents();
  const plan = await compilePlan(loadPlanText(text), registry, { inline, parallelism: 2 });
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
