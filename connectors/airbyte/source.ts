/**
 * `airbyte_source`: runs an Airbyte source connector — a local executable, or e.g. `docker run --rm -i -v ...
 * airbyte/source-faker` where Docker exists — with `read --config --catalog [--state]`, and streams its RECORDs into
 * the plan, one output port per stream. Each STATE is a checkpoint: the records before it are committed by the
 * sinks together with the connector state, so a restarted job passes the last committed state back to the
 * connector (`--state`) and continues exactly after it. LOG messages go to stderr; a connector that exits non-zero
 * or reports a TRACE error fails the job with that error's message.
 * Without a `catalog`, the connector's `discover` runs when the plan compiles; a catalog that is not configured is
 * configured as the Airbyte UI would (incremental where the stream supports it, else full refresh).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { AbflowError, defineSource, emptyBatch, z } from '../../engine/api.js';
import { LINES_SCHEMA, readLines } from '../jsonl/lines.js';
import { type CatalogStream, configuredCatalogText, decoderFor, parseCatalog, schemasOf } from './catalog.js';
import { connectorLog } from './log.js';
import { groupCommit, groupCommitOptions, maxLineBytesOption, MessageReader, type ResumeState, resumeStateOf, stateFileText } from './messages.js';
import { InvalidMessage, parseMessage } from './protocol.js';
import { workDir } from './workdir.js';

const config = z
  .object({
    command: z.union([z.string().min(1), z.array(z.string()).min(1)]).describe('The connector command: an argv list, or a string split at spaces.'),
    config: z.union([z.string(), z.record(z.string(), z.unknown())]).describe('Connector config: a JSON file path, or the config inline.'),
    catalog: z
      .string()
      .optional()
      .describe(
        'Catalog JSON: a configured catalog, a catalog or a `discover` CATALOG message (streams configured as `abflow airbyte source discover --configured` does); without it, `discover` runs and its catalog is configured that way.',
      ),
    state: z.string().optional().describe('Initial state file for the first run (later runs resume from the checkpoint).'),
    ...maxLineBytesOption,
    ...groupCommitOptions,
  })
  .strict();

type Config = z.output<typeof config>;

function argv(cfg: Config): string[] {
  return Array.isArray(cfg.command) ? cfg.command : cfg.command.trim().split(/\s+/);
}

function configText(cfg: Config): string {
  if (typeof cfg.config !== 'string') return JSON.stringify(cfg.config);
  try {
    return readFileSync(cfg.config, 'utf8');
  } catch (e) {
    throw new AbflowError('config', `cannot read connector config ${cfg.config}: ${(e as Error).message}`, { path: ['config'] });
  }
}

/** Runs a connector command to completion (`spec`, `check`, `discover`) and returns its messages of `type`. */
function runConnector(command: readonly string[], args: readonly string[], type: string): unknown[] {
  const r = spawnSync(command[0]!, [...command.slice(1), ...args], { encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.error) throw new AbflowError('source_io', `cannot run connector \`${command.join(' ')}\`: ${r.error.message}`, { path: ['command'] });
  const found: unknown[] = [];
  let error: string | null = null;
  for (const line of r.stdout.split('\n')) {
    if (!line.trim()) continue;
    const m = parseMessage(line);
    if (m instanceof InvalidMessage) continue; // connectors may print non-protocol lines; the platform logs them
    if (m.type === 'TRACE' && m.trace.type === 'ERROR') error ??= m.trace.error?.message ?? 'unknown error';
    if (m.type === type) found.push(m);
  }
  if (r.status !== 0 || error)
    throw new AbflowError(
      'source_io',
      `connector \`${command.join(' ')} ${args[0]}\` failed: ${error ?? `exit code ${r.status}`}${r.stderr ? `\n${r.stderr.trim().split('\n').slice(-5).join('\n')}` : ''}`,
      { path: ['command'] },
    );
  return found;
}

const ACTIONS = { spec: 'SPEC', check: 'CONNECTION_STATUS', discover: 'CATALOG' } as const;

/** `abflow airbyte source spec|check|discover`: the connector's answer, as its messages; `configured` turns a
 * discovered catalog into a configured catalog (see `configuredCatalogText`). */
export function connectorAction(command: string, action: string, configPath?: string, configured = false): unknown[] {
  const type = ACTIONS[action as keyof typeof ACTIONS];
  if (!type) throw new AbflowError('config', `unknown action \`${action}\`: use spec, check or discover`);
  if (action !== 'spec' && !configPath) throw new AbflowError('config', `\`${action}\` needs --config`);
  if (configured && action !== 'discover') throw new AbflowError('config', '--configured goes with discover');
  const found = runConnector(argv({ command } as Config), action === 'spec' ? ['spec'] : [action, '--config', configPath!], type);
  return configured ? found.map((m) => JSON.parse(configuredCatalogText(JSON.stringify(m), 'from discover')) as unknown) : found;
}

function initialState(path: string): ResumeState {
  try {
    return resumeStateOf(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new AbflowError('config', `cannot read state file ${path}: ${(e as Error).message}`, { path: ['state'] });
  }
}

const discovered = new Map<string, { streams: CatalogStream[]; configured: string }>();

/** The streams to read and the configured catalog to pass: the plan's catalog (configured where it is not), or
 * what `discover` found, configured the same way. */
function catalogOf(cfg: Config): { streams: CatalogStream[]; configured: string } {
  if (cfg.catalog) {
    let text: string;
    try {
      text = readFileSync(cfg.catalog, 'utf8');
    } catch (e) {
      throw new AbflowError('config', `cannot read catalog ${cfg.catalog}: ${(e as Error).message}`, { path: ['catalog'] });
    }
    const configured = configuredCatalogText(text, cfg.catalog);
    return { streams: parseCatalog(configured, cfg.catalog), configured };
  }
  const key = JSON.stringify([argv(cfg), cfg.config]);
  let hit = discovered.get(key);
  if (!hit) {
    const configured = configuredCatalogText(JSON.stringify(discover(argv(cfg), configText(cfg))), 'from discover');
    hit = { streams: parseCatalog(configured, 'from discover'), configured };
    discovered.set(key, hit);
  }
  return hit;
}

/** The connector's CATALOG message (`discover`), its config in a temp folder removed right after. */
function discover(command: readonly string[], config: string): unknown {
  const wd = workDir({ 'config.json': config });
  try {
    const [msg] = runConnector(command, ['discover', '--config', wd.path('config.json')], 'CATALOG');
    if (!msg) throw new AbflowError('source_io', `connector \`${command.join(' ')} discover\` printed no CATALOG`, { path: ['command'] });
    return msg;
  } finally {
    wd.remove();
  }
}

export const airbyteSource = defineSource({
  kind: 'airbyte_source',
  summary: 'Runs an Airbyte source connector; RECORDs become rows per stream, each STATE is a checkpoint to resume from.',
  config,
  examples: [
    {
      title: 'A local connector executable',
      yaml: `id: faker\nkind: airbyte_source\nconfig:\n  command: [python, -m, source_faker]\n  config: secrets/faker.json\n  catalog: catalogs/faker.json`,
    },
    {
      title: 'A connector image (where Docker is available)',
      yaml: `id: pg\nkind: airbyte_source\nconfig:\n  command: [docker, run, --rm, -i, -v, /tmp:/tmp, airbyte/source-postgres:3.6.28]\n  config: { host: db, port: 5432, database: app, username: reader, password: secret }\n  catalog: catalogs/pg.json`,
    },
  ],
  display: (cfg) => ({ command: argv(cfg).join(' '), ...(cfg.catalog ? { catalog: cfg.catalog } : {}) }),
  resources: (cfg) => [
    { kind: 'exec', argv: argv(cfg), at: ['command'] },
    ...(typeof cfg.config === 'string' ? [{ kind: 'read' as const, path: cfg.config, at: ['config'] }] : []),
    ...(cfg.catalog ? [{ kind: 'read' as const, path: cfg.catalog, at: ['catalog'] }] : []),
    ...(cfg.state ? [{ kind: 'read' as const, path: cfg.state, at: ['state'] }] : []),
  ],
  // The connector state belongs to the connection (the source id and its streams), not to the command line: an image
  // upgrade or new options keep it, and a finished sync is continued incrementally by the next run.
  connection: (cfg) => ({
    streams: catalogOf(cfg)
      .streams.map((s) => [s.namespace, s.name])
      .sort(),
  }),
  ports: (cfg) => catalogOf(cfg).streams.map((s) => s.port),
  outputSchemas: (cfg) => schemasOf(catalogOf(cfg).streams, false),
  decoder: (cfg, _outputs, opts) => decoderFor(catalogOf(cfg).streams, cfg.maxLineBytes, opts.keepSourceText),
  drivesCheckpoints: true,
  create(cfg, ctx) {
    const log = connectorLog(ctx.nodeId);
    return {
      describePosition: (line) => `${argv(cfg).join(' ')} (message ${line})`,
      async *read(from) {
        // The first run may start from a state file; later runs from the checkpoint, which keeps every stream's state.
        const resume = (from as ResumeState | undefined) ?? (cfg.state ? initialState(cfg.state) : undefined);
        const state = resume ? stateFileText(resume) : null;
        const wd = workDir({ 'config.json': configText(cfg), 'catalog.json': catalogOf(cfg).configured, ...(state ? { 'state.json': state } : {}) });
        const args = ['read', '--config', wd.path('config.json'), '--catalog', wd.path('catalog.json'), ...(state ? ['--state', wd.path('state.json')] : [])];
        const cmd = argv(cfg);
        let child: ChildProcess | null = null;
        const exited = new Promise<number | null>((resolve, reject) => {
          child = spawn(cmd[0]!, [...cmd.slice(1), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
          child.once('error', (e) => reject(new AbflowError('source_io', `cannot run connector \`${cmd.join(' ')}\`: ${e.message}`, { nodeId: ctx.nodeId })));
          child.once('close', (code) => resolve(code));
        });
        exited.catch(() => undefined);
        const c = child! as ChildProcess;
        let stderrTail = '';
        c.stderr!.setEncoding('utf8').on('data', (s: string) => {
          stderrTail = (stderrTail + s).slice(-2000);
          for (const line of s.split('\n')) if (line.trim()) log('INFO', line);
        });
        const reader = new MessageReader(
          { log, invalid: (line, reason) => log('WARN', `message ${line} is not a valid AirbyteMessage: ${reason}`) },
          true,
          groupCommit(cfg, ctx.clock),
          resume,
        );
        try {
          yield* readLines(c.stdout!, {
            batchSize: ctx.batchSize,
            lingerMs: ctx.lingerMs,
            clock: ctx.clock,
            maxLineBytes: cfg.maxLineBytes,
            inspect: reader.inspect,
            resumeAnywhere: false,
          });
          const code = await exited;
          log('INFO', `connector done: ${reader.records} records, ${reader.states} states, ${reader.logs} logs, ${reader.traces} traces`);
          if (code !== 0 || reader.failure) {
            const why = reader.failure ?? `exit code ${code}${stderrTail ? `; stderr ends: ${stderrTail.trim().split('\n').slice(-3).join(' | ')}` : ''}`;
            throw new AbflowError('source_io', `Airbyte connector \`${cmd.join(' ')}\` failed: ${why}`, { nodeId: ctx.nodeId, domain: 'external' });
          }
          // STATEs after the last commit point (group commit) are committed at the end, so the next run resumes after
          // them.
          if (reader.uncommitted) yield { batch: emptyBatch(LINES_SCHEMA), resumeAfter: reader.resumeState, checkpoint: true };
        } finally {
          if (c.exitCode === null) c.kill('SIGTERM');
          wd.remove();
        }
      },
    };
  },
});
