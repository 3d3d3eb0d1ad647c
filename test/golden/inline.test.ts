/**
 * The golden plans again, in this process with `engine.inline` (every operator on this thread, through the hosts the
 * worker threads run): the same expected outputs. Besides pinning that an inline run is a real run, this is how the
 * mutation suite (`npm run mutate`) sees the whole engine — runtime, operators, sinks — execute: code in worker
 * threads runs unmutated.
 */
import { describe, expect, it } from 'vitest';
import { caseCopy, countersOf, expectedCountersOf, expectedOf, GOLDEN_CASES, outputsOf, runInProcess } from './cases.js';

describe('golden plans, inline in this process', () => {
  for (const name of GOLDEN_CASES) {
    it(name, async () => {
      const dir = caseCopy(name);
      const { printed, result } = await runInProcess(dir, true);
      expect(outputsOf(dir, printed)).toEqual(expectedOf(name));
      expect(countersOf(result)).toBe(expectedCountersOf(name));
    });
  }
});
