/**
 * @module cli/schema
 * `abflow schema`: writes the plan JSON schema (for editor completion).
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadComponents } from '../builtins.js';
import { planJsonSchema } from '../plan/json-schema.js';
import { pluginOption } from './shared.js';

export function register(program: Command): void {
  program
    .command('schema')
    .description('write the plan JSON schema (for editor completion)')
    .option('-o, --out <file>', 'output file', 'plans/plan.schema.json')
    .addOption(pluginOption())
    .action(async (opts: { out: string; plugin: string[] }) => {
      const { registry } = await loadComponents(opts.plugin);
      writeFileSync(opts.out, JSON.stringify(planJsonSchema(registry), null, 2) + '\n');
      process.stdout.write(`wrote ${opts.out}\n`);
    });
}
