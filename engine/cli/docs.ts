/**
 * @module cli/docs
 * `abflow docs`: writes the component reference (docs/operators.md) from the registry.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadComponents } from '../builtins.js';
import { componentDocs } from '../plan/docs.js';
import { pluginOption } from './shared.js';

export function register(program: Command): void {
  program
    .command('docs')
    .description('write the component reference (docs/operators.md) from the registry')
    .option('-o, --out <file>', 'output file', 'docs/operators.md')
    .addOption(pluginOption())
    .action(async (opts: { out: string; plugin: string[] }) => {
      const { registry } = await loadComponents(opts.plugin);
      writeFileSync(opts.out, componentDocs(registry));
      process.stdout.write(`wrote ${opts.out}\n`);
    });
}
