/**
 * @module cli/validate
 * `abflow validate PLAN`: checks a plan without running it.
 */
import type { Command } from 'commander';
import { compile, pluginOption, reportPlanError } from './shared.js';

export function register(program: Command): void {
  program
    .command('validate')
    .description('check a plan without running it')
    .argument('<plan>', 'plan YAML file')
    .addOption(pluginOption())
    .action(async (file: string, opts: { plugin: string[] }) => {
      const plan = await compile(file, opts).catch(reportPlanError);
      for (const w of plan.warnings) process.stderr.write(`warning: ${w}\n`);
      const count = (role: string) => plan.nodes.filter((n) => n.role === role && n.path).length;
      process.stdout.write(`ok: ${file}: plan ${plan.name} (${count('source')} sources, ${count('operator')} operators, ${count('sink')} sinks)\n`);
    });
}
