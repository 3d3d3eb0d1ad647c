/**
 * Golden outputs of whole plans, as Arroyo keeps for its queries: each folder here holds a plan (its comment says
 * what it pins and why the expected rows are right), its inputs, and `expected/` — every output file of the run and
 * the JSON lines it printed (`stdout.jsonl`), as sorted JSON lines. The plan runs with the CLI users run, in a copy of
 * its folder. `UPDATE_GOLDEN=1 npx vitest run test/golden` rewrites `expected/` from the current build; review the
 * diff before committing it.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { abflow, tempDir } from '../kit/cli.js';

const HERE = import.meta.dirname;
const UPDATE = process.env.UPDATE_GOLDEN === '1';
const cases = readdirSync(HERE, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(HERE, d.name, 'plan.yaml')))
  .map((d) => d.name);

const sortedLines = (text: string) =>
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

describe('golden plans', () => {
  it('has cases', () => expect(cases.length).toBeGreaterThan(5));

  for (const name of cases) {
    it(name, () => {
      const dir = join(tempDir(`abflow-golden-${name}-`), name);
      cpSync(join(HERE, name), dir, { recursive: true, filter: (src) => !src.includes(`${name}/expected`) });
      const r = abflow(['run', 'plan.yaml', '-q'], { cwd: dir });
      expect(r.code, r.stderr).toBe(0);
      // A jsonl sink's commit record (`*.abflow.json`) is bookkeeping, not output.
      const actual = new Map(
        filesUnder(join(dir, 'out'))
          .filter((f) => !f.endsWith('.abflow.json'))
          .map((f) => [join('out', f), sortedLines(readFileSync(join(dir, 'out', f), 'utf8'))]),
      );
      actual.set('stdout.jsonl', sortedLines(r.stdout));
      const expectedDir = join(HERE, name, 'expected');
      if (UPDATE) {
        rmSync(expectedDir, { recursive: true, force: true });
        for (const [f, text] of actual) {
          mkdirSync(join(expectedDir, f, '..'), { recursive: true });
          writeFileSync(join(expectedDir, f), text);
        }
      }
      const expected = new Map(filesUnder(expectedDir).map((f) => [f, readFileSync(join(expectedDir, f), 'utf8')]));
      expect(Object.fromEntries(actual)).toEqual(Object.fromEntries(expected));
    });
  }
});
