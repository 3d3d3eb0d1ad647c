/**
 * @module cli/approvals
 * `abflow approvals fire PLAN`: fires the approved actions of a plan's approval queues and marks the rejected ones, once.
 */
import type { Command } from 'commander';
import { type ApprovalConfig, ApprovalQueue } from '../../connectors/http/approval-sink.js';
import { compile, pluginOption } from './shared.js';

export function register(program: Command): void {
  program
    .command('approvals')
    .description('approval queues of a plan (approval_queue sinks)')
    .command('fire')
    .description('fire the approved actions and mark the rejected ones, once (e.g. from cron while the job is stopped)')
    .argument('<plan>', 'plan YAML file')
    .addOption(pluginOption())
    .action(async (file: string, opts: { plugin: string[] }) => {
      const plan = await compile(file, opts);
      const sinks = plan.nodes.filter((n) => n.kind === 'approval_queue');
      if (!sinks.length) throw new Error(`${file} has no approval_queue sink`);
      for (const n of sinks) {
        const q = await ApprovalQueue.open(n.config as ApprovalConfig, n.id);
        try {
          const r = await q.decide();
          process.stdout.write(`${n.id}: ${r.fired} fired, ${r.failed} failed, ${r.rejected} rejected\n`);
        } finally {
          await q.close();
        }
      }
    });
}
