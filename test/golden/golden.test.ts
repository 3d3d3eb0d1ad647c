/**
 * Golden outputs of whole plans, as Arroyo keeps for its queries: each folder here holds a plan (its comment says
 * what it pins and why the expected rows are right), its inputs, and `expected/` — every output file of the run and
 * the JSON lines it printed (`stdout.jsonl`), as sorted JSON lines, and `counters.json`, what the run summary counted per
 * node (cases.ts `countersOf`). The plan runs with the CLI users run, in a copy of
 * its folder. `UPDATE_GOLDEN=1 npx vitest run test/golden/golden.test.ts` rewrites `expected/` from the current
 * build; review the diff before committing it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { abflow } from '../kit/cli.js';
import { caseCopy, countersOf, expectedCountersOf, expectedOf, GOLDEN_CASES, outputsOf } from './cases.js';

describe('golden plans', () => {
  it('has cases', () => expect(GOLDEN_CASES.length).toBeGreaterThan(5));

  for (const name of GOLDEN_CASES) {
    it(name, () => {
      const dir = caseCopy(name);
      const r = abflow(['run', 'plan.yaml', '-q', '--summary-json', 'summary.json'], { cwd: dir });
      expect(r.code, r.stderr).toBe(0);
      const actual = outputsOf(dir, r.stdout);
      expect(actual).toEqual(expectedOf(name, actual));
      const counters = countersOf(JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')));
      expect(counters).toBe(expectedCountersOf(name, counters));
    });
  }

  // `--inline`: every operator on the main thread, the same outputs (inline.test.ts runs the cases in-process too).
  it.each(GOLDEN_CASES.slice(0, 3))('%s, with --inline', (name) => {
    const dir = caseCopy(name);
    const r = abflow(['run', 'plan.yaml', '-q', '--inline'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(outputsOf(dir, r.stdout)).toEqual(expectedOf(name));
  });
});
