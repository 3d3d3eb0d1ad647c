/**
 * The golden cases (folders here with a plan, its inputs and `expected/`) and how their output is read: every output
 * file of the run and the JSON lines it printed, as sorted JSON lines. `UPDATE_GOLDEN=1` rewrites `expected/`.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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
