/**
 * @module cli/run
 * `abflow run PLAN`: runs a plan until its sources end, with a live progress line and a per-node summary; SIGINT or
 * SIGTERM drain it (a second one forces the exit), `--stop-timeout` terminates what does not drain.
 * Exit codes: 0 success (including a graceful stop), 1 the job failed, 2 the plan is invalid.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { compilePlan, type CompiledPlan } from '../compile/compile.js';
import { isAbflowError } from '../errors.js';
import { loadPlanFile } from '../plan/load.js';
import { redactSecrets } from '../redact.js';
import { Job, type JobResult, type Progress } from '../runtime/job.js';
import { failIfStalled, parallelismOption, planComponents, pluginOption, reportPlanError, stopTimeoutOption } from './shared.js';

function fmtRate(rows: number, ms: number): string {
  const r = ms > 0 ? (rows / ms) * 1000 : 0;
  return r >= 1e6 ? `${(r / 1e6).toFixed(2)}M/s` : r >= 1e3 ? `${(r / 1e3).toFixed(1)}k/s` : `${r.toFixed(0)}/s`;
}

function summary(result: JobResult, plan: CompiledPlan): string {
  // Keyed operators aggregate: rows in and rows out are not comparable, so "filtered" does not apply.
  const keyed = new Set(plan.physical.vertices.filter((v) => v.type === 'keyed').map((v) => v.id));
  const head = ['node', 'kind', 'in', 'out', 'filtered', 'dead-lettered', 'discarded', 'busy ms'];
  const rows = result.nodes.map((m) => {
    const filtered = keyed.has(m.id) ? NaN : m.role === 'operator' || m.decoded ? Math.max(0, m.rowsIn - m.rowsOut - m.dead) : 0;
    return [
      m.id,
      m.kind,
      m.role === 'source' && !m.decoded ? '' : String(m.rowsIn),
      m.role === 'sink' || m.role === 'dead_letters' ? '' : String(m.rowsOut),
      Number.isNaN(filtered) ? '' : String(filtered),
      String(m.dead),
      String(m.discarded),
      m.busyMs.toFixed(0),
    ];
  });
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => r.map((s, c) => (c < 2 ? s.padEnd(widths[c]!) : s.padStart(widths[c]!))).join('  ');
  const extra = result.nodes
    .filter((m) => m.extra)
    .map(
      (m) =>
        `${m.id}: ${Object.entries(m.extra!)
          .map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(4)}`)
          .join(' ')}`,
    );
  return [line(head), ...rows.map(line), ...extra].join('\n');
}

export function register(program: Command): void {
  program
    .command('run')
    .description('run a plan until its sources end (or SIGINT/SIGTERM: drain and exit 0)')
    .argument('<plan>', 'plan YAML file')
    .addOption(parallelismOption())
    .addOption(pluginOption())
    .option('--inline', 'every operator on the main thread, no worker threads (overrides engine.inline): for debugging and profiling')
    .option('-q, --quiet', 'no progress line and no summary')
    .option('--from-scratch', 'ignore saved checkpoints and start afresh')
    .option('--summary-json <file>', 'also write the run summary as JSON')
    .addOption(stopTimeoutOption())
    .action(
      async (
        file: string,
        opts: {
          plugin: string[];
          parallelism?: number;
          inline?: boolean;
          quiet?: boolean;
          fromScratch?: boolean;
          summaryJson?: string;
          stopTimeout: number;
        },
      ) => {
        const loaded = (() => {
          try {
            return loadPlanFile(file);
          } catch (e) {
            return reportPlanError(e);
          }
        })();
        const { registry, modules } = await planComponents(loaded, opts.plugin);
        const plan = await compilePlan(loaded, registry, {
          ...(opts.parallelism ? { parallelism: opts.parallelism } : {}),
          ...(opts.inline ? { inline: true } : {}),
        }).catch(reportPlanError);
        for (const w of plan.warnings) process.stderr.write(`warning: ${w}\n`);
        const tty = process.stderr.isTTY && !opts.quiet;
        const onProgress = tty
          ? (p: Progress) =>
              process.stderr.write(
                `\r${plan.name}: in ${p.rowsIn} · out ${p.rowsOut} · ${fmtRate(p.rowsIn, p.elapsedMs)} · ${(p.elapsedMs / 1000).toFixed(1)}s   `,
              )
          : undefined;
        const job = new Job(plan, {
          modules,
          ...(onProgress ? { onProgress } : {}),
          fromScratch: opts.fromScratch === true,
          onWarning: (m) => process.stderr.write(`warning: ${m}\n`),
          ...(opts.quiet
            ? {}
            : {
                onStarted: ({ resumedFrom }) =>
                  process.stderr.write(
                    `running ${plan.name}: ${plan.engine.inline ? `inline, ${plan.engine.parallelism} partitions per keyed operator` : `${plan.engine.parallelism} worker threads`}${resumedFrom === null ? '' : `, resumed from checkpoint ${resumedFrom}`} (Ctrl-C stops gracefully)\n`,
                  ),
              }),
          ...(opts.quiet
            ? {}
            : {
                onCheckpoint: (c: { id: number; ms: number; bytes: number; finished: boolean }) =>
                  process.stderr.write(
                    `${tty ? '\n' : ''}checkpoint ${c.id} complete: ${c.ms.toFixed(0)} ms, ${c.bytes} bytes${c.finished ? ' (finished)' : ''}\n`,
                  ),
              }),
        });
        let signals = 0;
        const onSignal = (sig: string) => {
          if (++signals > 1) process.exit(130);
          process.stderr.write(`\n${sig}: stopping sources, draining in-flight batches and flushing sinks (again to force)\n`);
          job.stop(opts.stopTimeout);
        };
        process.on('SIGINT', () => onSignal('SIGINT'));
        process.on('SIGTERM', () => onSignal('SIGTERM'));
        failIfStalled();
        try {
          const result = await job.run();
          if (tty) process.stderr.write('\n');
          if (!opts.quiet) {
            process.stderr.write(`${summary(result, plan)}\n`);
            if (result.resumedFrom !== null) process.stderr.write(`resumed from checkpoint ${result.resumedFrom}\n`);
            if (result.checkpoints.length)
              process.stderr.write(`checkpoints: ${result.checkpoints.length} taken, last ${result.checkpoints[result.checkpoints.length - 1]!.id}\n`);
            process.stderr.write(
              `${result.stopped ? 'stopped' : 'done'}: ${result.rowsIn} rows in, ${result.rowsOut} rows to sinks, ${result.deadLetters} dead-lettered in ${(result.durationMs / 1000).toFixed(2)}s (${fmtRate(result.rowsIn, result.durationMs)})\n`,
            );
            if (result.deadLetters && plan.physical.vertices.some((v) => v.type === 'sink' && v.deadLetters))
              process.stderr.write(`dead letters without a sink: ${plan.engine.deadLetters}\n`);
          }
          if (opts.summaryJson) writeFileSync(opts.summaryJson, JSON.stringify(result, null, 2));
          process.exit(0);
        } catch (e) {
          if (tty) process.stderr.write('\n');
          const msg = isAbflowError(e) ? e.format() : redactSecrets((e as Error).stack ?? String(e));
          process.stderr.write(`error: ${msg}\n`);
          process.exit(1);
        }
      },
    );
}
