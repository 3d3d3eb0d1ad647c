/**
 * @module cli/new
 * `abflow new operator NAME`: scaffolds a custom operator and its test on the public API.
 */
import type { Command } from 'commander';
import { scaffoldOperator } from '../scaffold.js';

export function register(program: Command): void {
  program
    .command('new')
    .description('scaffold a component')
    .command('operator')
    .description('write NAME.mjs (a custom operator on the public API) and NAME.test.mjs (its test on abflow/testing)')
    .argument('<name>', 'operator kind, snake_case')
    .option('-d, --dir <dir>', 'where to write', '.')
    .action((name: string, opts: { dir: string }) => {
      for (const p of scaffoldOperator(name, opts.dir)) process.stdout.write(`wrote ${p}\n`);
      process.stdout.write(`use it with \`plugins: [${name}.mjs]\` in a plan (relative to the plan file) or --plugin\n`);
    });
}
