/**
 * @module cli/checkpoints
 * `abflow checkpoints list|show PLAN`: a job's complete checkpoints, and where each source continues from.
 */
import type { Command } from 'commander';
import type { CompiledPlan } from '../compile/compile.js';
import { CheckpointStore } from '../state/store.js';
import { compile, reportPlanError } from './shared.js';

async function openStore(file: string): Promise<{ plan: CompiledPlan; store: CheckpointStore }> {
  const plan = await compile(file, { plugin: [] }).catch(reportPlanError);
  if (!plan.engine.checkpoint) {
    process.stderr.write(`error: plan ${plan.name} takes no checkpoints (engine.checkpoint is not set, and no source keeps connection state)\n`);
    process.exit(2);
  }
  return { plan, store: await CheckpointStore.open(plan.engine.checkpoint.path) };
}

export function register(program: Command): void {
  const checkpoints = program.command('checkpoints').description("inspect a job's checkpoints");

  checkpoints
    .command('list')
    .description('complete checkpoints of the job, newest first')
    .argument('<plan>', 'plan YAML file')
    .action(async (file: string) => {
      const { store } = await openStore(file);
      const list = await store.list();
      store.close();
      if (!list.length) return void process.stdout.write('no checkpoints\n');
      process.stdout.write('id  created                        duration ms    bytes  parallelism  finished\n');
      for (const c of list)
        process.stdout.write(
          `${String(c.id).padEnd(3)} ${c.createdAt.padEnd(30)} ${c.durationMs.toFixed(1).padStart(11)} ${String(c.bytes).padStart(8)}  ${String(c.parallelism).padStart(11)}  ${c.finished}\n`,
        );
    });

  checkpoints
    .command('show')
    .description('one checkpoint: metadata, state size per vertex and where each source continues from (default: the newest)')
    .argument('<plan>', 'plan YAML file')
    .argument('[id]', 'checkpoint id')
    .action(async (file: string, id?: string) => {
      const { plan, store } = await openStore(file);
      const list = await store.list();
      const meta = id === undefined ? list[0] : list.find((c) => c.id === Number(id));
      if (!meta) {
        store.close();
        process.stderr.write(`error: no checkpoint ${id ?? ''}\n`);
        process.exit(1);
      }
      let status = 'ok';
      // Where each source continues from (an Airbyte connection's state, a replication position, a file offset).
      let sources: Record<string, unknown> = {};
      try {
        const cp = await store.load(meta.id);
        const ids = new Map(plan.physical.vertices.filter((v) => v.type === 'source').map((v) => [v.id, v.node.decodedBy ?? v.id]));
        sources = Object.fromEntries(cp.states.filter((s) => ids.has(s.vertex)).map((s) => [ids.get(s.vertex)!, s.value]));
      } catch (e) {
        status = `DAMAGED: ${(e as Error).message}`;
      }
      store.close();
      process.stdout.write(JSON.stringify({ ...meta, status, sources }, null, 2) + '\n');
    });
}
