/**
 * @module cli/explain
 * `abflow explain PLAN`: the compiled physical plan (fused chains, parallelism, partitioning, schemas), as text or Mermaid.
 */
import { type Command, Option } from 'commander';
import { renderMermaid, renderText } from '../compile/render.js';
import { compile, parallelismOption, pluginOption, reportPlanError } from './shared.js';

export function register(program: Command): void {
  program
    .command('explain')
    .description('print the compiled physical plan: fused chains, parallelism, partitioning, schemas')
    .argument('<plan>', 'plan YAML file')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'mermaid']).default('text'))
    .addOption(parallelismOption())
    .addOption(pluginOption())
    .action(async (file: string, opts: { format: string; plugin: string[]; parallelism?: number }) => {
      const plan = await compile(file, opts).catch(reportPlanError);
      process.stdout.write(opts.format === 'mermaid' ? renderMermaid(plan) : renderText(plan));
    });
}
