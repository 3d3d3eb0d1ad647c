/**
 * @module cli/bench
 * `abflow bench [SCENARIO…]`: runs the benchmarks (native-bench/) and writes their results.
 */
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('bench')
    .description('run the benchmarks (default: every scenario) and write markdown + JSON to native-bench/results/')
    .argument(
      '[scenarios...]',
      'micro, pipeline, airbyte, payments, nexmark, latency, memory, window-state, checkpoint, warehouse, lookup, nab, onnx, llm, plan-size',
    )
    .action(async (scenarios: string[]) => {
      // Loaded on demand: the benchmarks pull in their baselines (tinybench, raw onnxruntime sessions).
      const { runBench } = (await import(new URL('../../native-bench/run.js', import.meta.url).href)) as typeof import('../../native-bench/run.js');
      process.stdout.write(await runBench(scenarios));
    });
}
