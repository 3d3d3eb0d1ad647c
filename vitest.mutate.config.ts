import { defineConfig } from 'vitest/config';

/** The suite `npm run mutate` runs for each mutant: the in-process tests (units and operator harnesses), which exercise
 * the engine's own code on the test's thread. Tests that spawn the CLI run dist/, which Stryker does not mutate. */
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts'],
    testTimeout: 60_000,
    maxWorkers: 1,
  },
});
