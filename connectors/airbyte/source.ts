/**
 * `airbyte_source`: runs an Airbyte source connector — a local executable, or e.g. `docker run --rm -i -v ...
 * airbyte/source-faker` where Docker exists — with `read --config --catalog [--state]`, and streams its RECORDs into
 * the plan, one output port per stream. Each STATE is a checkpoint: the records before it are committed by the
 * sinks together with the connector state, so a restarted job passes the last committed state back to the
 * connector (`--state`) and continues exactly after it. LOG messages go to stderr; a connector that exits non-zero
 * or reports a TRACE error fails the job with that error's message.
 * Without a `catalog`, the connector's `discover` runs when the plan compiles and every stream is read in full.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AbflowError, defineSource, z } from '../../engine/api.js';
import { readLines } from '../jsonl/lines.js';
import { type CatalogStream, decoderFor, parseCatalog, readCatalog, schemasOf } from './catalog.js';
import { connectorLog } from './log.js';
import { MessageReader, type ResumeState, resumeStateOf, stateFileText } from './messages.js';
import { InvalidMessage, parseMessage } from './protocol.js';

const config = z
  .object({
    command: z.union([z.string().min(1), z.array(z.string()).min(1)]).describe('The connector command: an argv list, or a string split at spaces.'),
    config: z.union([z.string(), z.record(z.string(), z.unknown())]).describe('Connector config: a JSON file path, or the config inline.'),
    catalog: z.string().optional().describe('Configured catalog JSON; without it, `discover` runs and every stream is read (full refresh).'),
    state: z.string().optional().describe('Initial state file for the first run (later runs resume from the checkpoint).'),
    maxLineBytes: z.number().int().positive().default(16 << 20).describe('Longer lines are dead-lettered (default 16 MiB).'),
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
  if (r.status !== 0 || error) throw new AbflowError('source_io', `connector \`${command.join(' ')} ${args[0]}\` failed: ${error ?? `exit code ${r.status}`}${r.stderr ? `\n${r.stderr.trim().split('\n').slice(-5).join('\n')}` : ''}`, { path: ['command'] });
  return found;
}

const ACTIONS = { spec: 'SPEC', check: 'CONNECTION_STATUS', discover: 'CATALOG' } as const;

/** `abflow airbyte source spec|check|discover`: the connector's answer, as its messages. */
export function connectorAction(command: string, action: string, configPath?: string): unknown[] {
  const type = ACTIONS[action as keyof typeof ACTIONS];
  if (!type) throw new AbflowError('config', `unknown action \`${action}\`: use spec, check or discover`);
  if (action !== 'spec' && !configPath) throw new AbflowError('config', `\`${action}\` needs --config`);
  return runConnector(argv({ command } as Config), action === 'spec' ? ['spec'] : [action, '--config', configPath!], type);
}

function initialState(path: string): ResumeState {
  try {
    return resumeStateOf(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new AbflowError('config', `cannot read state file ${path}: ${(e as Error).message}`, { path: ['state'] });
  }
}

/** Writes config/catalog/state files for one connector run into a fresh temp folder. */
function workDir(files: Record<string, string>): { dir: string; path: (name: string) => string } {
  const dir = mkdtempSync(join(tmpdir(), 'abflow-airbyte-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text, { mode: 0o600 });
  return { dir, path: (name) => join(dir, name) };
}

const discovered = new Map<string, { streams: CatalogStream[]; configured: string }>();

/** The streams to read and the configured catalog to pass: the plan's catalog, or everything `discover` found. */
function catalogOf(cfg: Config): { streams: CatalogStream[]; configured: string } {
  if (cfg.catalog) {
    const streams = readCatalog(cfg.catalog);
    const text = readFileSync(cfg.catalog, 'utf8');
    return { streams, configured: streams.every((s) => s.configured) ? text : configuredFrom(JSON.parse(text) as { streams: unknown[] }) };
  }
  const key = JSON.stringify([argv(cfg), cfg.config]);
  let hit = discovered.get(key);
  if (!hit) {
    const wd = workDir({ 'config.json': configText(cfg) });
    try {
      const [msg] = runConnector(argv(cfg), ['discover', '--config', wd.path('config.json')], 'CATALOG') as { catalog: { streams: unknown[] } }[];
      if (!msg) throw new AbflowError('source_io', `connector \`${argv(cfg).join(' ')} discover\` printed no CATALOG`, { path: ['command'] });
      const configured = configuredFrom(msg.catalog);
      hit = { streams: parseCatalog(configured, 'from discover'), configured };
      discovered.set(key, hit);
    } finally {
      rmSync(wd.dir, { recursive: true, force: true });
    }
  }
  return hit;
}

/** A configured catalog reading every stream of a discovered catalog in full. */
function configuredFrom(catalog: { streams: unknown[] }): string {
  return JSON.stringify({ streams: catalog.streams.map((stream) => ({ stream, sync_mode: 'full_refresh', destination_sync_mode: 'append' })) });
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
  ports: (cfg) => catalogOf(cfg).streams.map((s) => s.port),
  outputSchemas: (cfg) => schemasOf(catalogOf(cfg).streams),
  decoder: (cfg) => decoderFor(catalogOf(cfg).streams, cfg.maxLineBytes),
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
        const reader = new MessageReader({ log, invalid: (line, reason) => log('WARN', `message ${line} is not a valid AirbyteMessage: ${reason}`) }, true, resume);
        try {
          yield* readLines(c.stdout!, { batchSize: ctx.batchSize, lingerMs: ctx.lingerMs, maxLineBytes: cfg.maxLineBytes, inspect: reader.inspect, resumeAnywhere: false });
          const code = await exited;
          log('INFO', `connector done: ${reader.records} records, ${reader.states} states, ${reader.logs} logs, ${reader.traces} traces`);
          const error = reader.errors[0]?.error;
          if (code !== 0 || error) {
            const why = error ? `${error.message}${error.failure_type ? ` (${error.failure_type})` : ''}` : `exit code ${code}${stderrTail ? `; stderr ends: ${stderrTail.trim().split('\n').slice(-3).join(' | ')}` : ''}`;
            throw new AbflowError('source_io', `Airbyte connector \`${cmd.join(' ')}\` failed: ${why}`, { nodeId: ctx.nodeId, domain: 'external' });
          }
        } finally {
          if (c.exitCode === null) c.kill('SIGTERM');
          rmSync(wd.dir, { recursive: true, force: true });
        }
      },
    };
  },
});
