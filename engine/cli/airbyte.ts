/**
 * @module cli/airbyte
 * `abflow airbyte spec|check|write`: abflow as an Airbyte destination (airbyte-destination.ts); `abflow airbyte source`
 * runs a source connector's spec, check or discover.
 */
import type { Command } from 'commander';
import { connectorAction } from '../../connectors/airbyte/source.js';
import { loadComponents } from '../builtins.js';
import { isAbflowError } from '../errors.js';
import { redactSecrets } from '../redact.js';
import { Job } from '../runtime/job.js';
import { checkMessage, compileDestination, failureTrace, specMessage } from './airbyte-destination.js';
import { exitFlushed, failIfStalled, pluginOption } from './shared.js';

export function register(program: Command): void {
  const airbyte = program.command('airbyte').description('abflow as an Airbyte destination (spec, check, write)');

  airbyte
    .command('spec')
    .description('print the destination specification (a SPEC message)')
    .action(() => void process.stdout.write(specMessage() + '\n'));

  airbyte
    .command('check')
    .description('check a destination config (prints a CONNECTION_STATUS message)')
    .requiredOption('--config <file>', 'destination config JSON')
    .action(async (opts: { config: string }) => {
      process.stdout.write((await checkMessage(opts.config)) + '\n');
    });

  airbyte
    .command('write')
    .description('read AirbyteMessages on stdin, run the configured plan, echo each STATE once its records are committed')
    .requiredOption('--config <file>', 'destination config JSON (names the plan, or inlines it)')
    .requiredOption('--catalog <file>', 'configured catalog JSON')
    .addOption(pluginOption())
    .action(async (opts: { config: string; catalog: string; plugin: string[] }) => {
      // stdout carries protocol messages only; everything else goes to stderr.
      try {
        const { registry, modules } = await loadComponents(opts.plugin);
        const plan = await compileDestination(opts.config, opts.catalog, registry);
        for (const w of plan.warnings) process.stderr.write(`warning: ${w}\n`);
        const job = new Job(plan, { modules, onWarning: (m) => process.stderr.write(`warning: ${m}\n`) });
        process.on('SIGTERM', () => job.stop(30_000));
        failIfStalled();
        const result = await job.run();
        process.stderr.write(`abflow destination: ${result.rowsIn} lines in, ${result.rowsOut} rows to sinks, ${result.deadLetters} dead-lettered\n`);
        await exitFlushed(0);
      } catch (e) {
        process.stdout.write(failureTrace(e) + '\n');
        process.stderr.write(`error: ${isAbflowError(e) ? e.format() : redactSecrets((e as Error).stack ?? String(e))}\n`);
        await exitFlushed(1);
      }
    });

  airbyte
    .command('source')
    .description("run a source connector's spec, check or discover and print its answer (e.g. to write a catalog)")
    .argument('<action>', 'spec | check | discover')
    .requiredOption('--command <cmd>', 'the connector command, e.g. "python -m source_faker" or "docker run --rm -i airbyte/source-faker"')
    .option('--config <file>', 'connector config JSON (check, discover)')
    .option('--configured', 'discover: print a configured catalog (incremental with the source cursor and primary key where supported, else full refresh)')
    .action((action: string, opts: { command: string; config?: string; configured?: boolean }) => {
      for (const m of connectorAction(opts.command, action, opts.config, opts.configured)) process.stdout.write(JSON.stringify(m) + '\n');
    });
}
