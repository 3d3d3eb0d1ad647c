import { defineConfig } from 'vitest/config';

/** The suite `npm run mutate` runs for each mutant: the in-process tests — units, operator harnesses, and whole plans
 * run inline (every operator on the test's thread, `engine.inline`). Mutants are only active in that thread: tests
 * that spawn the CLI run dist/, and worker threads load the sources unmutated. Modules stay loaded between test files
 * (isolate: false): a run of this suite took 32 s with isolation, 8 s without, and every mutant pays it. The slow
 * whole-plan tests (backpressure, resume-inline: 6 s each) are left to the main suite. A test fails after 3 s, before
 * Stryker's own timeout (stryker.config.json): a mutant that hangs a job then costs 3 s, not a restart of the runner
 * (with restarts, a run went 90 tested mutants per 5 min; without, 60 per minute). */
export default defineConfig({
  test: {
    include: [
      'test/unit/**/*.test.ts',
      'test/golden/inline.test.ts',
      'test/recovery/finished.test.ts',
      'test/runtime/retention.test.ts',
      'test/runtime/lifecycle.test.ts',
      'test/runtime/recovery-inline.test.ts',
      'test/runtime/source-inline.test.ts',
    ],
    testTimeout: 3_000,
    maxWorkers: 1,
    isolate: false,
  },
});
