import { defineConfig } from 'vitest/config';

/** The suite `npm run mutate` runs for each mutant: the in-process tests — units, operator harnesses, and whole plans
 * run inline (every operator on the test's thread, `engine.inline`). Mutants are only active in that thread: tests
 * that spawn the CLI run dist/, and worker threads load the sources unmutated. */
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/golden/inline.test.ts', 'test/recovery/finished.test.ts', 'test/runtime/*.test.ts'],
    testTimeout: 60_000,
    maxWorkers: 1,
  },
});
