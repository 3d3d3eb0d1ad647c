/**
 * abflow as an Airbyte destination: `abflow airbyte spec | check --config C | write --config C --catalog CAT`.
 * `write` reads the sync's AirbyteMessages on stdin and runs a plan on them; every STATE is printed back on stdout,
 * in order, once the records before it are committed, with `destinationStats.recordCount`.
 *
 * The config names the plan (`plan`: a YAML file; `plan_yaml`: inline). Its `airbyte_file` source reading "-" is
 * the sync input; abflow points it at the catalog and turns on the STATE echo. Without a plan, each stream lands in
 * its table of an embedded DuckDB database (`destination_path`), as Airbyte's DuckDB destination does: the table is
 * named after the stream, in a schema named after its namespace, with Airbyte's meta columns. Sync modes follow
 * the destination CDK: `overwrite` without generations replaces the table; with `generation_id` the rows of older
 * generations (below `minimum_generation_id`) are deleted once the sync succeeds; `append` appends.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { stringify } from 'yaml';
import { AbflowError, z } from '../../engine/api.js';
import { compilePlan, type CompiledPlan } from '../../engine/compile/compile.js';
import { type LoadedPlan, loadPlanFile, loadPlanText } from '../../engine/plan/load.js';
import type { Registry } from '../../engine/registry.js';
import { readCatalog } from './catalog.js';
import { traceErrorLine } from './protocol.js';

const destinationConfig = z
  .object({
    plan: z.string().min(1).optional().describe('Plan YAML file whose `airbyte_file` source with path "-" receives the sync.'),
    plan_yaml: z.string().min(1).optional().describe('The plan inline (YAML), instead of `plan`.'),
    destination_path: z.string().min(1).default('/local/abflow.duckdb').describe('Without a plan: the DuckDB database file the streams are written to.'),
    parallelism: z.number().int().min(1).max(256).optional().describe('Worker threads (default: available cores).'),
  })
  .strict();

type DestinationConfig = z.output<typeof destinationConfig>;

export function specMessage(): string {
  return JSON.stringify({
    type: 'SPEC',
    spec: {
      documentationUrl: 'https://github.com/abflow/abflow#airbyte',
      connectionSpecification: { ...z.toJSONSchema(destinationConfig, { io: 'input' }), title: 'abflow destination' },
      supportsIncremental: true,
      supported_destination_sync_modes: ['append', 'overwrite'],
      protocol_version: '0.18.0',
    },
  });
}

export function readDestinationConfig(path: string): DestinationConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new AbflowError('config', `cannot read destination config ${path}: ${(e as Error).message}`);
  }
  const r = destinationConfig.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new AbflowError('config', `destination config ${path}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  if (r.data.plan && r.data.plan_yaml) throw new AbflowError('config', `destination config ${path}: give \`plan\` or \`plan_yaml\`, not both`);
  return r.data;
}

/** The plan each stream of the catalog goes through into DuckDB, when the config names none. */
function defaultPlan(cfg: DestinationConfig, catalogPath: string): LoadedPlan {
  const streams = readCatalog(catalogPath);
  const sinks = streams.map((s, i) => {
    const c = s.configured;
    const generation = (c?.generation_id as number | null | undefined) ?? null;
    const minimum = (c?.minimum_generation_id as number | null | undefined) ?? null;
    const refresh = generation !== null && (c?.destination_sync_mode === 'overwrite' ? true : minimum !== null && minimum > 0 && minimum === generation);
    const replace = c?.destination_sync_mode === 'overwrite' && generation === null;
    if (c && /dedup|update|soft_delete/.test(String(c.destination_sync_mode)))
      process.stderr.write(`warning: stream ${s.name}: destination_sync_mode ${c.destination_sync_mode} is written as append (deduplication is not in the DuckDB destination yet)\n`);
    return {
      id: `stream_${i}`,
      kind: 'duckdb',
      inputs: [`input.${s.port}`],
      config: {
        path: cfg.destination_path,
        table: s.name,
        ...(s.namespace ? { schema: s.namespace } : {}),
        mode: replace ? 'overwrite' : 'append',
        ...(refresh ? { keepGenerationsFrom: Math.max(1, minimum ?? generation!) } : {}),
      },
    };
  });
  const plan = {
    name: 'airbyte_destination',
    engine: { deadLetters: `${cfg.destination_path}.dead_letters.jsonl` },
    sources: [{ id: 'input', kind: 'airbyte_file', config: { path: '-', catalog: catalogPath } }],
    sinks,
  };
  return loadPlanText(stringify(plan), '<destination plan>');
}

/** The plan for a `write`: the configured one (or the default), its stdin source wired to the catalog. */
export function destinationPlan(cfg: DestinationConfig, catalogPath: string): LoadedPlan {
  const loaded = cfg.plan ? loadPlanFile(cfg.plan) : cfg.plan_yaml ? loadPlanText(cfg.plan_yaml, '<plan_yaml>') : defaultPlan(cfg, catalogPath);
  const plan = loaded.value as { sources?: { kind?: string; config?: Record<string, unknown> }[] };
  const inputs = (plan.sources ?? []).filter((s) => s.kind === 'airbyte_file' && s.config?.path === '-');
  if (inputs.length !== 1)
    throw new AbflowError('config', `plan ${loaded.file} needs exactly one \`airbyte_file\` source with \`path: "-"\` to receive the sync, found ${inputs.length}`);
  inputs[0]!.config = { ...inputs[0]!.config, catalog: catalogPath, echoStates: true };
  // In destination mode stdout carries the protocol answer (STATEs, TRACEs): no sink may write there.
  const sinks = (loaded.value as { sinks?: { id?: string; kind?: string; config?: { path?: string } }[] }).sinks ?? [];
  const toStdout = sinks.find((s) => ['airbyte_destination', 'jsonl', 'console'].includes(s.kind ?? '') && (s.config?.path ?? '-') === '-' && !(s.config as { command?: unknown } | undefined)?.command);
  if (toStdout)
    throw new AbflowError('config', `sink \`${toStdout.id}\` (${toStdout.kind}) writes to stdout, which carries the destination's STATE messages in \`abflow airbyte write\``, {
      hint: 'give it a file `path`, or run the plan with `abflow run` in a pipe instead',
    });
  return loaded;
}

export async function compileDestination(configPath: string, catalogPath: string, registry: Registry): Promise<CompiledPlan> {
  const cfg = readDestinationConfig(configPath);
  return compilePlan(destinationPlan(cfg, catalogPath), registry, cfg.parallelism ? { parallelism: cfg.parallelism } : {});
}

/** `check`: the config reads, the plan loads, and the DuckDB destination (if used) opens. */
export async function checkMessage(configPath: string): Promise<string> {
  try {
    const cfg = readDestinationConfig(configPath);
    if (cfg.plan) loadPlanFile(cfg.plan);
    else if (cfg.plan_yaml) loadPlanText(cfg.plan_yaml, '<plan_yaml>');
    else {
      mkdirSync(dirname(cfg.destination_path), { recursive: true });
      const db = await DuckDBInstance.create(cfg.destination_path);
      (await db.connect()).closeSync();
    }
    return JSON.stringify({ type: 'CONNECTION_STATUS', connectionStatus: { status: 'SUCCEEDED' } });
  } catch (e) {
    return JSON.stringify({ type: 'CONNECTION_STATUS', connectionStatus: { status: 'FAILED', message: (e as Error).message } });
  }
}

export function failureTrace(e: unknown): string {
  const message = (e as Error).message;
  return traceErrorLine(`abflow destination failed: ${message}`, e instanceof AbflowError && e.domain === 'user' ? 'config_error' : 'system_error', (e as Error).stack);
}
