import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests spawn the CLI and worker pools; two cores are shared, so keep files from oversubscribing them.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
