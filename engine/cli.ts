#!/usr/bin/env node
/**
 * @module cli
 * The `abflow` command: validate, explain and run plans, and write the plan JSON schema.
 * Exit codes: 0 success (including a graceful stop), 1 the job failed, 2 the plan is invalid.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pino } from 'pino';
import { Command, InvalidArgumentError, Option } from 'commander';
import { loadComponents } from './builtins.js';
import { compilePlan, type CompiledPlan } from './compile/compile.js';
import { renderMermaid, renderText } from './compile/render.js';
import { isAbflowError, PlanErrors } from './errors.js';
import { redactSecrets } from './redact.js';
import { parseDurationMs } from './expr/functions.js';
import { type LoadedPlan, loadPlanFile } from './plan/load.js';
import { planJsonSchema } from './plan/json-schema.js';
import { componentDocs } from './plan/docs.js';
import { scaffoldOperator } from './scaffold.js';
import { JobManager } from './service/jobs.js';
import { startServer } from './service/server.js';
import { startGrpc } from './service/grpc.js';
import { Job, type JobResult, type Progress } from './runtime/job.js';
import { CheckpointStore } from './state/store.js';
import { checkMessage, compileDestination, failureTrace, specMessage } from '../connectors/airbyte/destination.js';
import { connectorAction } from '../connectors/airbyte/source.js';
import { fitModel, type ModelKind } from '../operators/ai/onnx/fit.js';
import { type ApprovalConfig, ApprovalQueue } from '../connectors/http/approval-sink.js';

const program = new Command();
program.name('abflow').description('Streaming dataflow engine: YAML plans over Arrow batches on worker threads.').version('0.1.0');

const pluginOption = () => new Option('--plugin <module...>', 'extra component modules (exporting abflowComponents)').default([]);
const parallelismOption = () => new Option('-p, --parallelism <n>', 'worker threads (overrides engine.parallelism)').argParser((v) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error('--parallelism must be a positive integer');
  return n;
});

/** The built-in components plus the `--plugin` modules and the plan's own `plugins` (relative to the plan file). */
async function planComponents(plan: LoadedPlan, cliPlugins: readonly string[]) {
  const listed = (plan.value as { plugins?: unknown } | null)?.plugins;
  const fromPlan = Array.isArray(listed) ? listed.filter((p): p is string => typeof p === 'string').map((p) => resolve(dirname(plan.file), p)) : [];
  return loadComponents([...cliPlugins, ...fromPlan]);
}

async function compile(file: string, opts: { plugin: string[]; parallelism?: number }): Promise<CompiledPlan> {
  const loaded = loadPlanFile(file);
  const { registry } = await planComponents(loaded, opts.plugin);
  return compilePlan(loaded, registry, opts.parallelism ? { parallelism: opts.parallelism } : {});
}

function reportPlanError(e: unknown): never {
  if (e instanceof PlanErrors) {
    for (const err of e.errors) process.stderr.write(`error: ${err.format()}\n`);
    process.stderr.write(`${e.errors.length} error${e.errors.length > 1 ? 's' : ''} in the plan\n`);
    process.exit(2);
  }
  if (isAbflowError(e) && (e.location || e.domain === 'user')) {
    process.stderr.write(`error: ${e.format()}\n`);
    process.exit(2);
  }
  throw e;
}

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
    return [m.id, m.kind, m.role === 'source' && !m.decoded ? '' : String(m.rowsIn), m.role === 'sink' || m.role === 'dead_letters' ? '' : String(m.rowsOut), Number.isNaN(filtered) ? '' : String(filtered), String(m.dead), String(m.discarded), m.busyMs.toFixed(0)];
  });
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => r.map((s, c) => (c < 2 ? s.padEnd(widths[c]!) : s.padStart(widths[c]!))).join('  ');
  const extra = result.nodes.filter((m) => m.extra).map((m) => `${m.id}: ${Object.entries(m.extra!).map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(4)}`).join(' ')}`);
  return [line(head), ...rows.map(line), ...extra].join('\n');
}

program
  .command('run')
  .description('run a plan until its sources end (or SIGINT/SIGTERM: drain and exit 0)')
  .argument('<plan>', 'plan YAML file')
  .addOption(parallelismOption())
  .addOption(pluginOption())
  .option('-q, --quiet', 'no progress line and no summary')
  .option('--from-scratch', 'ignore saved checkpoints and start afresh')
  .option('--summary-json <file>', 'also write the run summary as JSON')
  .addOption(stopTimeoutOption())
  .action(async (file: string, opts: { plugin: string[]; parallelism?: number; quiet?: boolean; fromScratch?: boolean; summaryJson?: string; stopTimeout: number }) => {
    const loaded = (() => {
      try {
        return loadPlanFile(file);
      } catch (e) {
        return reportPlanError(e);
      }
    })();
    const { registry, modules } = await planComponents(loaded, opts.plugin);
    const plan = await compilePlan(loaded, registry, opts.parallelism ? { parallelism: opts.parallelism } : {}).catch(reportPlanError);
    for (const w of plan.warnings) process.stderr.write(`warning: ${w}\n`);
    const tty = process.stderr.isTTY && !opts.quiet;
    const onProgress = tty
      ? (p: Progress) => process.stderr.write(`\r${plan.name}: in ${p.rowsIn} · out ${p.rowsOut} · ${fmtRate(p.rowsIn, p.elapsedMs)} · ${(p.elapsedMs / 1000).toFixed(1)}s   `)
      : undefined;
    const job = new Job(plan, {
      modules,
      ...(onProgress ? { onProgress } : {}),
      fromScratch: opts.fromScratch === true,
      onWarning: (m) => process.stderr.write(`warning: ${m}\n`),
      ...(opts.quiet ? {} : { onStarted: ({ resumedFrom }) => process.stderr.write(`running ${plan.name}: ${plan.engine.parallelism} worker threads${resumedFrom === null ? '' : `, resumed from checkpoint ${resumedFrom}`} (Ctrl-C stops gracefully)\n`) }),
      ...(opts.quiet ? {} : { onCheckpoint: (c: { id: number; ms: number; bytes: number; finished: boolean }) => process.stderr.write(`${tty ? '\n' : ''}checkpoint ${c.id} complete: ${c.ms.toFixed(0)} ms, ${c.bytes} bytes${c.finished ? ' (finished)' : ''}\n`) }),
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
        if (result.checkpoints.length) process.stderr.write(`checkpoints: ${result.checkpoints.length} taken, last ${result.checkpoints[result.checkpoints.length - 1]!.id}\n`);
        process.stderr.write(`${result.stopped ? 'stopped' : 'done'}: ${result.rowsIn} rows in, ${result.rowsOut} rows to sinks, ${result.deadLetters} dead-lettered in ${(result.durationMs / 1000).toFixed(2)}s (${fmtRate(result.rowsIn, result.durationMs)})\n`);
        if (result.deadLetters && plan.physical.vertices.some((v) => v.type === 'dead_letters')) process.stderr.write(`dead letters without a sink: ${plan.engine.deadLetters}\n`);
      }
      if (opts.summaryJson) writeFileSync(opts.summaryJson, JSON.stringify(result, null, 2));
      process.exit(0);
    } catch (e) {
      if (tty) process.stderr.write('\n');
      const msg = isAbflowError(e) ? e.format() : redactSecrets((e as Error).stack ?? String(e));
      process.stderr.write(`error: ${msg}\n`);
      process.exit(1);
    }
  });

const checkpoints = program.command('checkpoints').description("inspect a job's checkpoints");

async function openStore(file: string): Promise<{ plan: CompiledPlan; store: CheckpointStore }> {
  const plan = await compile(file, { plugin: [] }).catch(reportPlanError);
  if (!plan.engine.checkpoint) {
    process.stderr.write(`error: plan ${plan.name} takes no checkpoints (engine.checkpoint is not set, and no source keeps connection state)\n`);
    process.exit(2);
  }
  return { plan, store: await CheckpointStore.open(plan.engine.checkpoint.path) };
}

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
    for (const c of list) process.stdout.write(`${String(c.id).padEnd(3)} ${c.createdAt.padEnd(30)} ${c.durationMs.toFixed(1).padStart(11)} ${String(c.bytes).padStart(8)}  ${String(c.parallelism).padStart(11)}  ${c.finished}\n`);
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

/** A job that settles neither way leaves Node nothing to do, and Node would then exit 0 as if it had succeeded: a
 * running job fails loudly instead. */
function failIfStalled(): void {
  process.on('beforeExit', () => {
    process.stderr.write('error: internal: the job stopped making progress without finishing (an await that never settles); please report this\n');
    process.exit(70);
  });
}

/** `--stop-timeout`: how long a stop may drain before the job is terminated. */
function stopTimeoutOption(): Option {
  return new Option('--stop-timeout <duration>', 'after a stop (SIGTERM, Ctrl-C, DELETE), how long the job may drain before it is terminated (its output after the last commit is not committed)')
    .default(30_000, '30s')
    .argParser((v) => {
      const ms = parseDurationMs(v) ?? (/^\d+$/.test(v) ? Number(v) : null);
      if (ms === null) throw new InvalidArgumentError('a duration such as 30s or 2m');
      return ms;
    });
}

/** Exits once stdout is written out: writes to a pipe are asynchronous, and `process.exit` would cut them off. */
async function exitFlushed(code: number): Promise<never> {
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  process.exit(code);
}

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

const model = program.command('model').description('train anomaly models for onnx_score');

model
  .command('fit')
  .description('train an anomaly model on a table (Parquet, JSONL, CSV, or a DuckDB table) and write it as ONNX')
  .requiredOption('--input <file>', 'table to train on: .parquet (or a folder of them), .jsonl, .csv, or a .duckdb database with --table')
  .option('--table <name>', 'table in the DuckDB database')
  .requiredOption('--features <columns>', 'comma-separated numeric feature columns, in tensor order')
  .requiredOption('--out <file>', 'ONNX file to write')
  .addOption(new Option('--kind <kind>', 'model kind').choices(['isolation_forest', 'mahalanobis']).default('isolation_forest'))
  .option('--trees <n>', 'isolation forest: trees', (v) => Number(v), 100)
  .option('--sample-size <n>', 'isolation forest: rows per tree', (v) => Number(v), 256)
  .option('--contamination <fraction>', 'expected anomaly fraction, for the threshold', (v) => Number(v), 0.01)
  .option('--seed <n>', 'random seed', (v) => Number(v), 42)
  .option('--label <column>', 'boolean column marking known anomalies, for ROC AUC / precision / recall on the holdout')
  .option('--name <name>', 'model name stamped on scored rows')
  .action(async (o: { input: string; table?: string; features: string; out: string; kind: ModelKind; trees: number; sampleSize: number; contamination: number; seed: number; label?: string; name?: string }) => {
    const features = o.features.split(',').map((f) => f.trim()).filter(Boolean);
    const r = await fitModel({ ...o, features });
    const f = (v: number) => v.toFixed(4);
    const lines = [
      `wrote ${o.out}: ${r.kind} over ${features.length} features (${features.join(', ')})`,
      `sha256 ${r.sha256}  version ${r.version}`,
      `rows ${r.rows}: train ${r.trainRows}, holdout ${r.holdoutRows}`,
      `holdout scores: p50 ${f(r.quantiles.p50!)}  p90 ${f(r.quantiles.p90!)}  p99 ${f(r.quantiles.p99!)}  max ${f(r.quantiles.max!)}`,
      `threshold at ${o.contamination * 100}% contamination: ${f(r.threshold)}`,
      ...(r.auc !== undefined ? [`holdout vs ${o.label}: ROC AUC ${f(r.auc)}, precision ${f(r.precision!)}, recall ${f(r.recall!)} at the threshold`] : []),
    ];
    process.stdout.write(lines.join('\n') + '\n');
  });

program
  .command('serve')
  .description('run as a service: jobs over an HTTP API, Prometheus /metrics; SIGTERM stops every job gracefully')
  .option('--host <host>', 'interface to listen on', '127.0.0.1')
  .option('--port <port>', 'HTTP port', (v) => Number(v), 8080)
  .option('--grpc-port <port>', 'gRPC port (proto/abflow/v1/abflow.proto)', (v) => Number(v), 50051)
  .option('--plans <dir>', 'start every *.yaml plan in this folder')
  .option('--token-env <name>', 'environment variable holding the API bearer token', 'ABFLOW_API_TOKEN')
  .option('--token-file <file>', 'file holding the API bearer token (e.g. a mounted secret); wins over --token-env')
  .option('--tls-cert <file>', 'PEM certificate: serve HTTPS and gRPC over TLS (with --tls-key)')
  .option('--tls-key <file>', 'PEM private key of --tls-cert')
  .option('--log-level <level>', 'trace, debug, info, warn or error', 'info')
  .option('--insecure-no-auth', 'serve without a token: only on a loopback --host, for local development')
  .option('--data-dir <dir>', 'the folder submitted plans read and write in (relative paths only); the working directory by default')
  .option('--allow-command <path...>', 'executables submitted plans may run (Airbyte connectors), by absolute path; none by default')
  .option('--allow-plugins', 'let submitted plans load plugin modules (`plugins:`)')
  .addOption(stopTimeoutOption())
  .addOption(pluginOption())
  .action(async (opts: { host: string; port: number; grpcPort: number; plans?: string; tokenEnv: string; tokenFile?: string; tlsCert?: string; tlsKey?: string; logLevel: string; insecureNoAuth?: boolean; dataDir?: string; allowCommand?: string[]; allowPlugins?: boolean; stopTimeout: number; plugin: string[] }) => {
    const log = pino({ level: opts.logLevel, base: { service: 'abflow' } }, pino.destination(2));
    const token = opts.tokenFile ? readFileSync(opts.tokenFile, 'utf8').trim() : process.env[opts.tokenEnv];
    // Whoever reaches the API can run plans: without a token only this machine may, and only when asked for.
    if (!token) {
      const loopback = ['127.0.0.1', '::1', 'localhost'].includes(opts.host) || opts.host.startsWith('127.');
      if (!loopback || !opts.insecureNoAuth) {
        process.stderr.write(
          `error: ${opts.tokenFile ?? opts.tokenEnv} holds no API token, so anyone who reaches ${opts.host} could run plans\n  hint: set ${opts.tokenFile ? 'the token file' : opts.tokenEnv} (e.g. $(openssl rand -hex 32)), or for local development bind a loopback --host and pass --insecure-no-auth\n`,
        );
        process.exit(2);
      }
      log.warn('--insecure-no-auth: the API accepts unauthenticated requests from this machine');
    }
    if ((opts.tlsCert === undefined) !== (opts.tlsKey === undefined)) throw new Error('--tls-cert and --tls-key go together');
    const tls = opts.tlsCert ? { cert: readFileSync(opts.tlsCert), key: readFileSync(opts.tlsKey!) } : undefined;
    // Plans submitted over the API touch only what is allowed here (engine/policy.ts); their relative paths resolve
    // in the data directory, the service's working directory from now on. The operator's --plans run unrestricted.
    const plansDir = opts.plans ? resolve(opts.plans) : undefined;
    const dataDir = resolve(opts.dataDir ?? '.');
    mkdirSync(dataDir, { recursive: true });
    process.chdir(dataDir);
    const policy = { dataDir, allowCommands: (opts.allowCommand ?? []).map((c) => resolve(c)), allowPlugins: opts.allowPlugins === true };
    const jobs = new JobManager({ plugins: opts.plugin, stopTimeoutMs: opts.stopTimeout, onEvent: (event, j) => log.info({ job: j.name, id: j.id, state: j.state, ...(j.error ? { error: j.error } : {}) }, event) });
    const server = await startServer({ host: opts.host, port: opts.port, token, jobs, policy, log, tls });
    const grpcServer = await startGrpc({ host: opts.host, port: opts.grpcPort, token, jobs, policy, log, tls });
    log.info({ host: opts.host, port: (server.address() as { port: number }).port, grpcPort: grpcServer.port, tls: tls !== undefined }, 'listening');
    for (const f of plansDir ? readdirSync(plansDir).filter((f) => /\.ya?ml$/.test(f)).sort() : []) {
      const file = join(plansDir!, f);
      await jobs.submit(readFileSync(file, 'utf8'), file).catch((e: Error) => log.error({ plan: file, err: redactSecrets(e.message) }, 'plan rejected'));
    }
    let stopping = false;
    const shutdown = async (signal: string) => {
      if (stopping) process.exit(130);
      stopping = true;
      log.info({ signal }, 'stopping: final checkpoints, draining jobs');
      await jobs.stopAll();
      await new Promise((r) => server.close(r));
      await new Promise((r) => grpcServer.server.tryShutdown(r));
      log.info('stopped');
      process.exit(0);
    };
    process.on('SIGTERM', () => void shutdown('SIGTERM'));
    process.on('SIGINT', () => void shutdown('SIGINT'));
  });

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

program
  .command('bench')
  .description('run the benchmarks (default: every scenario) and write markdown + JSON to native-bench/results/')
  .argument('[scenarios...]', 'micro, pipeline, airbyte, payments, nexmark, latency, memory, window-state, checkpoint, warehouse, nab, onnx, llm, plan-size')
  .action(async (scenarios: string[]) => {
    // Loaded on demand: the benchmarks pull in their baselines (tinybench, raw onnxruntime sessions).
    const { runBench } = (await import(new URL('../native-bench/run.js', import.meta.url).href)) as typeof import('../native-bench/run.js');
    process.stdout.write(await runBench(scenarios));
  });

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

program.parseAsync().catch((e: unknown) => {
  process.stderr.write(`error: ${isAbflowError(e) ? e.format() : redactSecrets((e as Error).message)}\n`);
  process.exit(isAbflowError(e) && e.domain === 'user' ? 2 : 1);
});
